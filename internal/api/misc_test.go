package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/index"
)

func TestHealthReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "GET", "/healthz", nil, noCred).must(t, 200)
	if string(r.body) != "ok\n" {
		t.Fatalf("healthz = %q", r.body)
	}
	e.do(t, "GET", "/readyz", nil, noCred).must(t, 200)
	e.ready.Store(false)
	e.do(t, "GET", "/readyz", nil, noCred).must(t, 503)
	e.do(t, "GET", "/healthz", nil, noCred).must(t, 200)
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(t, "GET", "/api/v1/me", nil, asRoot()).must(t, 200)
	e.do(t, "GET", "/nowhere", nil, asRoot()).must(t, 404)
	e.do(t, "GET", "/metrics", nil, noCred).must(t, 401)
	e.do(t, "GET", "/metrics", nil, asOpAll()).must(t, 403)
	r := e.do(t, "GET", "/metrics", nil, asRoot()).must(t, 200)
	for _, want := range []string{
		`vigil_http_requests_total{code="200",method="GET",route="GET /api/v1/me"} 1`,
		`vigil_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`vigil_http_requests_total{code="401",method="GET",route="GET /metrics"} 1`,
		`vigil_http_request_duration_seconds_count{method="GET",route="GET /api/v1/me"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, r.body)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/nothing", nil, asRoot()).must(t, 404)
	if r.errCode(t) != codeNotFound || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("404 = %s", r.body)
	}
	r = e.do(t, "PUT", "/api/v1/sites", nil, asRoot()).must(t, 405)
	if r.errCode(t) != codeMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Fatalf("405 = %s, Allow %q", r.body, r.header.Get("Allow"))
	}
	r = e.do(t, "GET", "/api/v1/sites/../users", nil, asRoot())
	if r.code/100 != 3 || r.header.Get("Location") != "/api/v1/users" {
		t.Fatalf("unclean path: %d %v", r.code, r.header)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/api/v1/me", "/nowhere"} {
		r := e.do(t, "GET", path, nil, noCred)
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s = %q", path, h, got)
			}
		}
		if r.header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no CSP", path)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "")
	e.rt.panics.Store(true)
	r := e.do(t, "GET", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 500)
	if r.errCode(t) != codeInternal || strings.Contains(string(r.body), "exploded") {
		t.Fatalf("500 = %s", r.body)
	}
	if !strings.Contains(e.logs.String(), "runtime exploded") {
		t.Fatal("panic not logged")
	}
}

// failingIndex fails ListSites with an internal detail.
type failingIndex struct{ Index }

func (failingIndex) ListSites(context.Context) ([]index.Site, error) {
	return nil, errors.New("disk on fire at /var/lib/vigil")
}

func TestInternalErrorsNotEchoed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *Deps) { d.Index = failingIndex{d.Index} })
	r := e.do(t, "GET", "/api/v1/sites", nil, asRoot()).must(t, 500)
	if string(r.body) != `{"error":"internal error","code":"internal"}`+"\n" {
		t.Fatalf("500 body = %s", r.body)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Fatal("internal error not logged")
	}
}

func TestNewRequiresDeps(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Fatal("want error")
	}
}

func TestSharedRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := New(Config{}, Deps{Index: e.idx, Auth: e.auth, Runtime: NopRuntime{}, Registry: e.reg}); err != nil {
		t.Fatalf("second API on one registry: %v", err)
	}
}

// TestRoleMatrix checks the contract's role table route by route.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "n1", "north", "")
	type want struct{ admin, op, view, aud int }
	tests := []struct {
		method, path string
		w            want
	}{
		{"GET", "/api/v1/me", want{200, 200, 200, 200}},
		{"GET", "/api/v1/tokens", want{200, 200, 200, 200}},
		{"GET", "/api/v1/sites", want{200, 200, 200, 403}},
		{"GET", "/api/v1/sites/north", want{200, 200, 200, 403}},
		{"GET", "/api/v1/cameras", want{200, 200, 200, 403}},
		{"GET", "/api/v1/cameras/n1", want{200, 200, 200, 403}},
		{"GET", "/api/v1/cameras/n1/recordings", want{200, 200, 403, 403}},
		{"GET", "/api/v1/events", want{200, 200, 200, 403}},
		{"GET", "/api/v1/users", want{200, 403, 403, 403}},
		{"GET", "/api/v1/users/root", want{200, 403, 403, 403}},
		{"PATCH", "/api/v1/sites/north", want{200, 403, 403, 403}},
		{"PATCH", "/api/v1/cameras/n1", want{200, 403, 403, 403}},
		{"GET", "/metrics", want{200, 403, 403, 403}},
	}
	for _, tt := range tests {
		for _, who := range []struct {
			c    cred
			code int
		}{{asRoot(), tt.w.admin}, {asOp(), tt.w.op}, {asView(), tt.w.view}, {asAud(), tt.w.aud}} {
			var body any
			if tt.method == "PATCH" {
				body = map[string]any{}
			}
			r := e.do(t, tt.method, tt.path, body, who.c)
			if r.code != who.code {
				t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.path, r.code, who.code, r.body)
			}
		}
	}
}
