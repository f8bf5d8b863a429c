package keys

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestPublicKeyRoute serves the route on a real API and reads the key as
// each role.
func TestPublicKeyRoute(t *testing.T) {
	ctx := testutil.Context(t, 30*time.Second)
	h, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleViewer, auth.RoleAuditor} {
		if _, err := as.CreateUser(ctx, auth.NewUser{Username: string(r), Password: string(r) + "-password-1", Role: r}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := api.New(api.Config{}, api.Deps{Index: idx, Auth: as, Runtime: api.NopRuntime{}, Routes: Routes(h)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		user string // "" : no credentials
		code int
	}{
		{"admin", http.StatusOK},
		{"operator", http.StatusOK},
		{"auditor", http.StatusOK},
		{"viewer", http.StatusForbidden},
		{"", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run("user="+tc.user, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+PublicKeyPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.user+"-password-1")
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.code, body)
			}
			if tc.code != http.StatusOK {
				var eb struct{ Error, Code string }
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
					t.Fatalf("error answer %q is not a JSON error: %v", body, err)
				}
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/x-pem-file" {
				t.Errorf("Content-Type %q", ct)
			}
			pub, err := ParsePublic(body)
			if err != nil || !pub.Equal(h.Public()) {
				t.Fatalf("served key: %v, equal %v", err, pub.Equal(h.Public()))
			}
		})
	}
}
