package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/config"
)

// testHub is a real hub (every route and the RTSP server) run in this
// process on loopback ports, for tests of every surface at once.
type testHub struct {
	h      *hub
	base   string // http://127.0.0.1:port
	rtsp   string // 127.0.0.1:port
	client *http.Client
}

const testAdminPassword = "surface-admin-pass-1"

// startTestHub runs a hub until the test ends. It sets
// VIGIL_ADMIN_PASSWORD, so the test must not be parallel.
func startTestHub(t *testing.T, ctx context.Context) *testHub {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Parse([]byte("data: " + data + "\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\nlog:\n  level: error\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_ADMIN_PASSWORD", testAdminPassword)
	h, err := newHub(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx, io.Discard) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("hub: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("hub did not stop within 20 s")
		}
	})
	th := &testHub{h: h, base: "http://" + h.httpLn.Addr().String(), rtsp: h.rtspAddr(),
		client: &http.Client{Timeout: 15 * time.Second}}
	for !h.ready.Load() {
		select {
		case <-ctx.Done():
			t.Fatal("hub not ready")
		case err := <-done:
			t.Fatalf("hub stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return th
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends one request. cred is a session cookie value ("" for none) or
// "Bearer ..."/"Basic ..." for the Authorization header; hdr are extra
// header pairs.
func (th *testHub) call(t *testing.T, ctx context.Context, method, path, body, cred string, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, th.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	switch {
	case strings.HasPrefix(cred, "Bearer ") || strings.HasPrefix(cred, "Basic "):
		req.Header.Set("Authorization", cred)
	case cred != "":
		req.AddCookie(&http.Cookie{Name: "vigil_session", Value: cred})
	}
	res, err := th.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

// login logs user in over HTTP and returns the session cookie's value.
func (th *testHub) login(t *testing.T, ctx context.Context, user, pw string) string {
	t.Helper()
	res, err := th.client.Post(th.base+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", user, res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == "vigil_session" {
			return c.Value
		}
	}
	t.Fatalf("login %s: no cookie", user)
	return ""
}
