package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/config"
)

// A hub with an oidc section serves the OpenID Connect login under
// /api/v1/oidc/ (the provider here is unreachable: 503, not the API's 404);
// one without it does not.
func TestHubMountsOIDCLogin(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want int
	}{
		{"configured", `oidc:
  issuer: http://127.0.0.1:1/idp
  client_id: vigil
  redirect_url: http://127.0.0.1:8080/api/v1/oidc/callback
  groups: {ops: {role: operator, sites: [north-7]}}
`, http.StatusServiceUnavailable},
		{"not configured", "", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte("data: " + filepath.Join(t.TempDir(), "data") +
				"\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\nsites: [{id: north-7, name: North}]\n" + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("VIGIL_ADMIN_PASSWORD", "oidc-test-pass")
			h, err := newHub(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer h.close()
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/oidc/login", nil))
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("GET /api/v1/oidc/login: %d %s, want %d JSON", rec.Code, rec.Body, tc.want)
			}
		})
	}
}
