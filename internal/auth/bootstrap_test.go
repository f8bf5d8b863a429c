package auth

import (
	"context"
	"testing"
)

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name          string
		existing      bool
		envPassword   string
		wantGenerated bool
		wantErr       bool
		wantAdmin     bool
	}{
		{name: "generated", wantGenerated: true, wantAdmin: true},
		{name: "from env", envPassword: "from-the-env-1", wantAdmin: true},
		{name: "env too short", envPassword: "short", wantErr: true},
		{name: "users exist", existing: true, envPassword: "from-the-env-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.existing {
				f.addUser(t, "ann", "ann-password-1", RoleAdmin)
			}
			gen, err := Bootstrap(ctx, f.store, tt.envPassword)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if (gen != "") != tt.wantGenerated {
				t.Fatalf("generated = %q", gen)
			}
			u, err := f.store.GetUser(ctx, BootstrapUser)
			if (err == nil) != tt.wantAdmin {
				t.Fatalf("admin exists = %v", err == nil)
			}
			if !tt.wantAdmin {
				return
			}
			pw := tt.envPassword
			if gen != "" {
				pw = gen
			}
			if ok, err := VerifyPassword(u.PasswordHash, pw); !ok || err != nil || u.Role != RoleAdmin {
				t.Fatalf("admin password does not verify: %v %v", ok, err)
			}
			again, err := Bootstrap(ctx, f.store, "")
			if err != nil || again != "" {
				t.Fatalf("second bootstrap: %q %v", again, err)
			}
		})
	}
}
