package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "ann", "ann-password-1", RoleOperator, "north-7")
	tests := []struct {
		name, user, pw string
		wantErr        error
	}{
		{"ok", "ann", "ann-password-1", nil},
		{"wrong password", "ann", "ann-password-2", ErrInvalidCredentials},
		{"unknown user", "bob", "ann-password-1", ErrInvalidCredentials},
		{"empty", "", "", ErrInvalidCredentials},
		{"huge password", "ann", strings.Repeat("x", MaxPasswordLen+1), ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ses, err := f.svc.Login(ctx, tt.user, tt.pw, "10.0.0."+tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if p.Username != "ann" || p.Role != RoleOperator || p.Via != ViaSession || p.Sites[0] != "north-7" {
				t.Fatalf("principal = %+v", p)
			}
			if !ses.ExpiresAt.Equal(f.clock.Now().Add(24 * time.Hour)) {
				t.Fatalf("expiry = %v", ses.ExpiresAt)
			}
			got, err := f.svc.AuthenticateSession(ctx, ses.Token)
			if err != nil || got.Username != "ann" {
				t.Fatalf("authenticate session: %+v, %v", got, err)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "ann", "ann-password-1", RoleViewer)
	for i := range 5 {
		if _, _, err := f.svc.Login(ctx, "ann", "wrong-pass", "1.2.3.4"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Locked out, even with the right password.
	_, _, err := f.svc.Login(ctx, "ann", "ann-password-1", "1.2.3.4")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 12*time.Second {
		t.Fatalf("6th attempt: %v", err)
	}
	// Basic auth shares the limit.
	if _, err := f.svc.AuthenticateBasic(ctx, "ann", "ann-password-1", "1.2.3.4"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("basic: %v", err)
	}
	// Another address is not affected.
	if _, _, err := f.svc.Login(ctx, "ann", "ann-password-1", "5.6.7.8"); err != nil {
		t.Fatalf("other address: %v", err)
	}
	f.clock.Advance(12 * time.Second)
	if _, _, err := f.svc.Login(ctx, "ann", "ann-password-1", "1.2.3.4"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	// Success refilled the bucket: five more failures are allowed.
	for i := range 5 {
		if _, _, err := f.svc.Login(ctx, "ann", "wrong-pass", "1.2.3.4"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d after reset: %v", i, err)
		}
	}
}

func TestSessionExpiryAndLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "ann", "ann-password-1", RoleViewer)
	_, ses, err := f.svc.Login(ctx, "ann", "ann-password-1", "ip")
	must(t, err)
	_, ses2, err := f.svc.Login(ctx, "ann", "ann-password-1", "ip")
	must(t, err)
	must(t, f.svc.Logout(ctx, ses2.Token))
	if _, err := f.svc.AuthenticateSession(ctx, ses2.Token); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("after logout: %v", err)
	}
	must(t, f.svc.Logout(ctx, "garbage"))
	f.clock.Advance(24*time.Hour - time.Second)
	if _, err := f.svc.AuthenticateSession(ctx, ses.Token); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.svc.AuthenticateSession(ctx, ses.Token); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("at expiry: %v", err)
	}
	for _, bad := range []string{"", "x", ses.Token + "x", strings.Repeat("A", 43)} {
		if _, err := f.svc.AuthenticateSession(ctx, bad); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "ann", "ann-password-1", RoleViewer)
	f.addUser(t, "bob", "bob-password-1", RoleViewer)
	forever, err := f.svc.CreateToken(ctx, "ann", "ci", 0)
	must(t, err)
	short, err := f.svc.CreateToken(ctx, "ann", "short", time.Hour)
	must(t, err)
	if !strings.HasPrefix(forever.Secret, TokenPrefix) || forever.ID == "" || forever.Hash == forever.Secret {
		t.Fatalf("token = %+v", forever)
	}
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"", 0}, {strings.Repeat("n", 65), 0}, {"tab\there", 0}, {"ok", -time.Second}, {"ok", MaxTokenTTL + 1}} {
		var ie *InputError
		if _, err := f.svc.CreateToken(ctx, "ann", tc.name, tc.ttl); !errors.As(err, &ie) {
			t.Fatalf("CreateToken(%q, %v) = %v, want InputError", tc.name, tc.ttl, err)
		}
	}
	p, err := f.svc.AuthenticateToken(ctx, forever.Secret)
	if err != nil || p.Username != "ann" || p.Via != ViaToken {
		t.Fatalf("auth token: %+v %v", p, err)
	}
	list, err := f.svc.ListTokens(ctx, "ann")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.AuthenticateToken(ctx, short.Secret); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("expired token: %v", err)
	}
	if err := f.svc.RevokeToken(ctx, "bob", forever.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob revoking ann's token: %v", err)
	}
	must(t, f.svc.RevokeToken(ctx, "ann", forever.ID))
	if _, err := f.svc.AuthenticateToken(ctx, forever.Secret); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := f.svc.AuthenticateToken(ctx, "vgt_nope"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	f.svc.Prune(ctx)
	if list, _ := f.svc.ListTokens(ctx, "ann"); len(list) != 0 {
		t.Fatalf("prune left %v", list)
	}
}

func TestTokenOfDeletedUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "root", "root-password", RoleAdmin)
	f.addUser(t, "ann", "ann-password-1", RoleViewer)
	tok, err := f.svc.CreateToken(ctx, "ann", "ci", 0)
	must(t, err)
	must(t, f.svc.DeleteUser(ctx, "ann"))
	if _, err := f.svc.AuthenticateToken(ctx, tok.Secret); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name  string
		nu    NewUser
		field string
	}{
		{"bad name", NewUser{Username: "../x", Password: "password1", Role: RoleViewer}, "username"},
		{"short password", NewUser{Username: "ann", Password: "short", Role: RoleViewer}, "password"},
		{"long password", NewUser{Username: "ann", Password: strings.Repeat("p", MaxPasswordLen+1), Role: RoleViewer}, "password"},
		{"bad role", NewUser{Username: "ann", Password: "password1", Role: "root"}, "role"},
		{"scoped admin", NewUser{Username: "ann", Password: "password1", Role: RoleAdmin, Sites: []string{"a"}}, "sites"},
		{"bad site", NewUser{Username: "ann", Password: "password1", Role: RoleViewer, Sites: []string{"A B"}}, "sites"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(ctx, tt.nu)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err = %v, want InputError on %s", err, tt.field)
			}
		})
	}
	f.addUser(t, "ann", "password1", RoleViewer, "b", "a", "b")
	u, _ := f.svc.GetUser(ctx, "ann")
	if strings.Join(u.Sites, ",") != "a,b" {
		t.Fatalf("sites = %v", u.Sites)
	}
	if _, err := f.svc.CreateUser(ctx, NewUser{Username: "ann", Password: "password1", Role: RoleViewer}); !errors.Is(err, ErrConflict) {
		t.Fatalf("dup: %v", err)
	}
}

func TestUpdateDeleteUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "root", "root-password", RoleAdmin)
	f.addUser(t, "ann", "ann-password-1", RoleViewer)
	_, ses, err := f.svc.Login(ctx, "ann", "ann-password-1", "ip")
	must(t, err)

	op := RoleOperator
	sites := []string{"north-7"}
	u, err := f.svc.UpdateUser(ctx, "ann", UserPatch{Role: &op, Sites: &sites})
	if err != nil || u.Role != RoleOperator || u.Sites[0] != "north-7" {
		t.Fatalf("update: %+v %v", u, err)
	}
	// Role change applies to the live session at once.
	if p, err := f.svc.AuthenticateSession(ctx, ses.Token); err != nil || p.Role != RoleOperator {
		t.Fatalf("session after role change: %+v %v", p, err)
	}
	pw := "new-password-1"
	_, err = f.svc.UpdateUser(ctx, "ann", UserPatch{Password: &pw})
	must(t, err)
	if _, err := f.svc.AuthenticateSession(ctx, ses.Token); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("session survived password change: %v", err)
	}
	if _, _, err := f.svc.Login(ctx, "ann", pw, "ip"); err != nil {
		t.Fatalf("login with new password: %v", err)
	}
	bad := "short"
	var ie *InputError
	if _, err := f.svc.UpdateUser(ctx, "ann", UserPatch{Password: &bad}); !errors.As(err, &ie) {
		t.Fatalf("short password: %v", err)
	}
	viewer := RoleViewer
	if _, err := f.svc.UpdateUser(ctx, "root", UserPatch{Role: &viewer}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demote last admin: %v", err)
	}
	if err := f.svc.DeleteUser(ctx, "root"); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("delete last admin: %v", err)
	}
	if _, err := f.svc.UpdateUser(ctx, "nobody", UserPatch{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	admin := RoleAdmin
	if _, err := f.svc.UpdateUser(ctx, "ann", UserPatch{Role: &admin}); !errors.As(err, &ie) {
		t.Fatalf("admin with sites: %v", err)
	}
	none := []string{}
	_, err = f.svc.UpdateUser(ctx, "ann", UserPatch{Role: &admin, Sites: &none})
	must(t, err)
	must(t, f.svc.DeleteUser(ctx, "root"))
	if err := f.svc.DeleteUser(ctx, "root"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	const pw = "Sup3r-Secret-Pw"
	f.addUser(t, "ann", pw, RoleViewer)
	_, ses, err := f.svc.Login(ctx, "ann", pw, "ip")
	must(t, err)
	_, _, _ = f.svc.Login(ctx, "ann", pw+"x", "ip")
	_, _, _ = f.svc.Login(ctx, pw, pw, "ip") // password typed as username
	tok, err := f.svc.CreateToken(ctx, "ann", "ci", 0)
	must(t, err)
	newPw := "An0ther-Secret"
	_, err = f.svc.UpdateUser(ctx, "ann", UserPatch{Password: &newPw})
	must(t, err)
	logs := f.logs.String()
	for _, secret := range []string{pw, newPw, ses.Token, tok.Secret, tok.Hash, hashSecret(ses.Token)} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "login failed") {
		t.Errorf("failed login not logged:\n%s", logs)
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.svc.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewRequiresStore(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Fatal("want error")
	}
}

// Failures from many addresses lock the account (not only the address):
// a password sprayed from a botnet stalls, and the lockout ends on its
// own after the window.
func TestAccountLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.addUser(t, "bob", "bob-password-1", RoleViewer)
	for i := range 20 {
		if _, _, err := f.svc.Login(ctx, "bob", "wrong-pass", fmt.Sprintf("10.0.0.%d", i)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, _, err := f.svc.Login(ctx, "bob", "bob-password-1", "10.9.9.9")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("21st attempt from a new address: %v, want locked out", err)
	}
	if _, _, err := f.svc.Login(ctx, "ann-other", "whatever-pass", "10.9.9.9"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("another account is not locked: %v", err)
	}
	f.clock.Advance(rl.RetryAfter)
	if _, _, err := f.svc.Login(ctx, "bob", "bob-password-1", "10.9.9.9"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}
