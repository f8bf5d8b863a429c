package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/auth"
)

func TestExtraRoutes(t *testing.T) {
	t.Parallel()
	live := Route{Method: "GET", Path: "/api/v1/cameras/{id}/live.m3u8", Perm: auth.PermLive, Camera: true,
		Handler: func(w http.ResponseWriter, _ *http.Request, req Request) {
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			_, _ = w.Write([]byte("#EXTM3U\n# " + req.Camera.ID + " for " + req.Principal.Username + "\n"))
			w.(http.Flusher).Flush()
		}}
	keys := Route{Method: "GET", Path: "/api/v1/keys/export.pem",
		Handler: func(w http.ResponseWriter, _ *http.Request, _ Request) {
			WriteError(w, http.StatusNotFound, "no key yet")
		}}
	e := newEnv(t, func(d *Deps) { d.Routes = []Route{live, keys} })
	e.addCamera(t, "n1", "north", "rtsp://u:secretpw@h/s")
	e.addCamera(t, "s1", "south", "")

	r := e.do(t, "GET", "/api/v1/cameras/n1/live.m3u8", nil, asView()).must(t, 200)
	if string(r.body) != "#EXTM3U\n# n1 for view\n" {
		t.Fatalf("live = %q", r.body)
	}
	e.do(t, "GET", "/api/v1/cameras/s1/live.m3u8", nil, asView()).must(t, 404)
	e.do(t, "GET", "/api/v1/cameras/ghost/live.m3u8", nil, asView()).must(t, 404)
	e.do(t, "GET", "/api/v1/cameras/..%2F/live.m3u8", nil, asView()).must(t, 400)
	e.do(t, "GET", "/api/v1/cameras/n1/live.m3u8", nil, asAud()).must(t, 403)
	e.do(t, "GET", "/api/v1/cameras/n1/live.m3u8", nil, noCred).must(t, 401)
	if r := e.do(t, "GET", "/api/v1/keys/export.pem", nil, asAud()).must(t, 404); r.errCode(t) != codeNotFound {
		t.Fatal(string(r.body))
	}
	m := e.do(t, "GET", "/metrics", nil, asRoot()).must(t, 200)
	if !strings.Contains(string(m.body), `route="GET /api/v1/cameras/{id}/live.m3u8"`) {
		t.Fatal("extra route not in metrics")
	}
}

func TestExtraRouteErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := func(http.ResponseWriter, *http.Request, Request) {}
	for _, rt := range []Route{
		{Method: "GET", Path: "/api/v1/cameras/{id}", Handler: h}, // conflicts with a built-in route
		{Method: "GET", Path: "/x"},                               // no handler
		{Path: "/x", Handler: h},                                  // no method
	} {
		if _, err := New(Config{}, Deps{Index: e.idx, Auth: e.auth, Runtime: NopRuntime{}, Routes: []Route{rt}}); err == nil {
			t.Errorf("route %s %s accepted", rt.Method, rt.Path)
		}
	}
}

func TestWriteErrorCodes(t *testing.T) {
	t.Parallel()
	for status, code := range map[int]string{400: codeBadRequest, 401: codeUnauthorized, 403: codeForbidden, 404: codeNotFound,
		405: codeMethodNotAllowed, 409: codeConflict, 413: codeTooLarge, 415: codeUnsupportedType, 429: codeTooManyRequests,
		500: codeInternal, 503: codeUnavailable, 416: codeRangeNotSatisfy, 418: codeBadRequest} {
		if got := codeFor(status); got != code {
			t.Errorf("codeFor(%d) = %s, want %s", status, got, code)
		}
	}
}

// TestClientGoneLoggedAs499: a request whose client left before the answer
// is logged and counted as 499, not as the error its handler then wrote
// into a closed connection (a cancelled blocking playlist reload once
// showed in the log as "503 camera is not streaming").
func TestClientGoneLoggedAs499(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	wait := Route{Method: "GET", Path: "/api/v1/cameras/{id}/live.m3u8", Perm: auth.PermLive, Camera: true,
		Handler: func(w http.ResponseWriter, r *http.Request, _ Request) {
			if r.URL.Query().Get("leave") != "" {
				cancel() // the client leaves while the handler waits
				<-r.Context().Done()
			}
			WriteError(w, http.StatusServiceUnavailable, "camera is not streaming")
		}}
	e := newEnv(t, func(d *Deps) { d.Routes = []Route{wait} })
	e.addCamera(t, "n1", "north", "")

	e.do(t, "GET", "/api/v1/cameras/n1/live.m3u8", nil, asView()).must(t, 503)
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/cameras/n1/live.m3u8?leave=1", nil)
	asView()(req)
	e.api.Handler().ServeHTTP(httptest.NewRecorder(), req)

	logs := e.logs.String()
	if !strings.Contains(logs, `"status":503`) || !strings.Contains(logs, `"status":499`) {
		t.Fatalf("want one request logged 503 and the abandoned one 499:\n%s", logs)
	}
	m := e.do(t, "GET", "/metrics", nil, asRoot()).must(t, 200)
	if !strings.Contains(string(m.body), `code="499"`) {
		t.Fatalf("499 not counted in metrics")
	}
}
