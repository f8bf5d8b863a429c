package api

import (
	"net/url"
	"strings"
	"testing"
)

// TestCredentialsNeverLeak drives every camera route, successes and
// failures, with a source password, and asserts that neither any answer
// nor any log line contains it.
func TestCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const pw = "Zq9-S3cretCamPw"
	escaped := url.QueryEscape(pw + "@/#")
	src := "rtsp://admin:" + pw + "@10.0.0.5:554/stream1"
	var bodies []string
	keep := func(r resp) { bodies = append(bodies, string(r.body)) }

	keep(e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "gate-1", "site": "north", "source": src}, asRoot()).must(t, 201))
	e.rt.setStatus("gate-1", CameraStatus{State: StateOffline,
		Error: `dial rtsp://admin:` + pw + `@10.0.0.5:554/stream1: 401 for password ` + pw})
	keep(e.do(t, "GET", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 200))
	keep(e.do(t, "GET", "/api/v1/cameras", nil, asView()).must(t, 200))
	keep(e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{"source": "rtsp://10.0.0.5:554/other"}, asRoot()).must(t, 200))
	keep(e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{"name": "Gate"}, asRoot()).must(t, 200))
	// Failures that carry the password in the request.
	for _, bad := range []string{
		"http://admin:" + pw + "@10.0.0.5/",
		"rtsp://admin:" + pw + "@[::1",
		"rtsp://admin:" + pw + "@10.0.0.5:99999999/",
		"rtsp://admin:" + pw + " @10.0.0.5/",
		"rtsp://admin:" + pw + "@/nohost",
		"rtsp://admin:" + escaped + "@host:bad/",
	} {
		keep(e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "bad", "source": bad}, asRoot()).must(t, 400))
		keep(e.do(t, "PATCH", "/api/v1/cameras/gate-1", map[string]any{"source": bad}, asRoot()).must(t, 400))
	}
	keep(e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "gate-1", "source": src}, asRoot()).must(t, 409))
	keep(e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": src, "bogus": pw}, asRoot()).must(t, 400))
	keep(e.do(t, "POST", "/api/v1/cameras", `{"id":"x","source":"`+src+`"`, asRoot()).must(t, 400))
	keep(e.do(t, "POST", "/api/v1/cameras", map[string]any{"id": "x", "source": src, "retention_days": "7"}, asRoot()).must(t, 400))
	keep(e.do(t, "POST", "/api/v1/login", map[string]string{"username": "root", "password": pw}, asRoot()).must(t, 401))
	keep(e.do(t, "DELETE", "/api/v1/cameras/gate-1", nil, asRoot()).must(t, 204))

	for _, b := range bodies {
		if strings.Contains(b, pw) || strings.Contains(b, escaped) {
			t.Errorf("answer leaks the password: %s", b)
		}
	}
	logs := e.logs.String()
	if strings.Contains(logs, pw) {
		t.Errorf("log leaks the password:\n%s", logs)
	}
	if !strings.Contains(logs, `"msg":"http request"`) || !strings.Contains(logs, `"msg":"camera created"`) {
		t.Errorf("expected request and camera log lines:\n%s", logs)
	}
	if !strings.Contains(bodies[1], `"error":"dial rtsp://10.0.0.5:554/stream1: 401 for password ***"`) {
		t.Errorf("status error not redacted as expected: %s", bodies[1])
	}
}

// TestTokensNeverLogged checks that request logs hold no query strings or
// credentials.
func TestTokensNeverLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "ci"}, asRoot()).must(t, 201)
	var tok tokenJSON
	r.json(t, &tok)
	e.do(t, "GET", "/api/v1/events?cursor=secret-cursor-value", nil, bearer(tok.Token))
	r = e.do(t, "POST", "/api/v1/login", map[string]string{"username": "root", "password": pwRoot}, noCred).must(t, 200)
	sessionID := r.res.Cookies()[0].Value
	e.do(t, "GET", "/api/v1/me", nil, cookie(sessionID)).must(t, 200)
	logs := e.logs.String()
	for _, secret := range []string{tok.Token, pwRoot, sessionID, "secret-cursor-value"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}
