package keys

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api/apitest"
	"github.com/vigil-video/vigil/internal/auth"
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
	var users []auth.NewUser
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleViewer, auth.RoleAuditor} {
		users = append(users, auth.NewUser{Username: string(r), Password: string(r) + "-password-1", Role: r})
	}
	srv := apitest.New(t, apitest.Options{Users: users, Routes: Routes(h)}).Server

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
