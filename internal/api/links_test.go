package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
)

// mediaRoutes stand in for the media routes other packages add (live HLS,
// WHEP, playback, snapshots, exports) at their real paths, so that media
// links are checked on exactly those patterns. They answer 200 "media".
func mediaRoutes() []Route {
	ok := func(w http.ResponseWriter, _ *http.Request, _ Request) { _, _ = w.Write([]byte("media")) }
	cam := "/api/v1/cameras/{id}"
	return []Route{
		{Method: "GET", Path: cam + "/live.m3u8", Perm: auth.PermLive, Camera: true, Handler: ok},
		{Method: "GET", Path: cam + "/live/{file}", Perm: auth.PermLive, Camera: true, Handler: ok},
		{Method: "POST", Path: cam + "/whep", Perm: auth.PermLive, Camera: true, Handler: ok},
		{Method: "DELETE", Path: cam + "/whep/{session}", Perm: auth.PermLive, Camera: true, Handler: ok},
		{Method: "GET", Path: cam + "/playback.m3u8", Perm: auth.PermPlayback, Camera: true, Handler: ok},
		{Method: "GET", Path: cam + "/segments/{seg}", Perm: auth.PermPlayback, Camera: true, Handler: ok},
		{Method: "GET", Path: cam + "/snapshot.jpg", Perm: auth.PermLive, Camera: true, Handler: ok},
		{Method: "GET", Path: cam + "/export", Perm: auth.PermExport, Camera: true, Handler: ok},
	}
}

func withMedia(d *Deps) { d.Routes = mediaRoutes() }

// login logs in and returns the session cookie's value.
func (e *env) login(t *testing.T, user, pw string) string {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/login", map[string]string{"username": user, "password": pw}, noCred).must(t, 200)
	for _, c := range r.res.Cookies() {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// link asks for a media link and returns its token.
func (e *env) link(t *testing.T, camera, kind string, c cred) string {
	t.Helper()
	var l linkJSON
	e.do(t, "POST", "/api/v1/cameras/"+camera+"/links", map[string]string{"kind": kind}, c).must(t, 201).json(t, &l)
	if l.Camera != camera || l.Kind != kind || l.Access == "" || !strings.Contains(l.URL, "?access="+l.Access) {
		t.Fatalf("link = %+v", l)
	}
	exp, err := time.Parse(time.RFC3339, l.Expires)
	if err != nil || exp.After(e.now.Add(LinkTTL)) || exp.Before(e.now.Add(LinkTTL-time.Second)) {
		t.Fatalf("link expires %s (now %s)", l.Expires, e.now)
	}
	return l.Access
}

func TestMediaLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMedia)
	e.addCamera(t, "gate-1", "north", "")
	e.addCamera(t, "gate-2", "north", "")
	e.addCamera(t, "yard-1", "south", "")
	sesA := e.login(t, "op", pwOp)
	sesB := e.login(t, "op", pwOp) // the same user's other session
	sesV := e.login(t, "view", pwView)
	var tok tokenJSON
	e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}, cookie(sesA)).must(t, 201).json(t, &tok)

	live := e.link(t, "gate-1", linkLive, cookie(sesA))
	play := e.link(t, "gate-1", linkPlayback, cookie(sesA))
	snap := e.link(t, "gate-1", linkSnapshot, cookie(sesA))
	exp := e.link(t, "gate-1", linkExport, cookie(sesA))
	byToken := e.link(t, "gate-1", linkLive, bearer(tok.Token))
	q := func(tok string) string { return "?access=" + url.QueryEscape(tok) }
	tampered := []byte(live)
	tampered[len(tampered)-2] ^= 1
	// A payload re-signed for another camera cannot be made without the key:
	// swap the payload of a gate-2 token onto gate-1's MAC.
	other := e.link(t, "gate-2", linkLive, cookie(sesA))
	p2, _, _ := strings.Cut(other, ".")
	_, mac1, _ := strings.Cut(live, ".")
	spliced := p2 + "." + mac1

	cam := "/api/v1/cameras/gate-1"
	tests := []struct {
		name, method, path string
		c                  cred
		want               int
	}{
		{"live by its session", "GET", cam + "/live.m3u8" + q(live), cookie(sesA), 200},
		{"live part by its session", "GET", cam + "/live/part-1.m4s" + q(live), cookie(sesA), 200},
		{"whep by its session", "POST", cam + "/whep" + q(live), cookie(sesA), 200},
		{"whep delete by its session", "DELETE", cam + "/whep/abc" + q(live), cookie(sesA), 200},
		{"playback by its session", "GET", cam + "/playback.m3u8" + q(play), cookie(sesA), 200},
		{"segment by its session", "GET", cam + "/segments/1" + q(play), cookie(sesA), 200},
		{"snapshot by its session", "GET", cam + "/snapshot.jpg" + q(snap), cookie(sesA), 200},
		{"export by its session", "GET", cam + "/export" + q(exp), cookie(sesA), 200},
		{"by its bearer token", "GET", cam + "/live.m3u8" + q(byToken), bearer(tok.Token), 200},
		{"no link: credentials decide", "GET", cam + "/live.m3u8", cookie(sesB), 200},

		{"replayed from another session", "GET", cam + "/live.m3u8" + q(live), cookie(sesB), 403},
		{"replayed by another user", "GET", cam + "/live.m3u8" + q(live), cookie(sesV), 403},
		{"replayed with basic", "GET", cam + "/live.m3u8" + q(live), asOp(), 403},
		{"replayed without credentials", "GET", cam + "/live.m3u8" + q(live), noCred, 401},
		{"session link with its token", "GET", cam + "/live.m3u8" + q(live), bearer(tok.Token), 403},
		{"token link with the session", "GET", cam + "/live.m3u8" + q(byToken), cookie(sesA), 403},
		{"another camera", "GET", "/api/v1/cameras/gate-2/live.m3u8" + q(live), cookie(sesA), 403},
		{"another site's camera", "GET", "/api/v1/cameras/yard-1/live.m3u8" + q(live), cookie(sesA), 403},
		{"another kind", "GET", cam + "/playback.m3u8" + q(live), cookie(sesA), 403},
		{"live link on export", "GET", cam + "/export" + q(live), cookie(sesA), 403},
		{"not a media route", "GET", cam + q(live), cookie(sesA), 403},
		{"tampered", "GET", cam + "/live.m3u8" + q(string(tampered)), cookie(sesA), 403},
		{"spliced payload", "GET", cam + "/live.m3u8" + q(spliced), cookie(sesA), 403},
		{"garbage", "GET", cam + "/live.m3u8?access=%00%27%20OR%201%3D1--", cookie(sesA), 403},
		{"empty", "GET", cam + "/live.m3u8?access=", cookie(sesA), 403},
		{"huge", "GET", cam + "/live.m3u8" + q(strings.Repeat("a", 4096)), cookie(sesA), 403},
		{"twice", "GET", cam + "/live.m3u8" + q(live) + "&access=" + url.QueryEscape(live), cookie(sesA), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, nil, tt.c).must(t, tt.want)
			if tt.want != 200 {
				r.errCode(t)
				if strings.Contains(string(r.body), live) || strings.Contains(string(r.body), "gate-2") {
					t.Fatalf("error body quotes the link or another camera: %s", r.body)
				}
			}
		})
	}

	// After expiry (the API's clock moves on) every link is refused.
	e.now = e.now.Add(LinkTTL)
	e.do(t, "GET", cam+"/live.m3u8"+q(live), nil, cookie(sesA)).must(t, 403)
	e.do(t, "GET", cam+"/export"+q(exp), nil, cookie(sesA)).must(t, 403)
	e.now = e.now.Add(-time.Second)
	e.do(t, "GET", cam+"/live.m3u8"+q(live), nil, cookie(sesA)).must(t, 200)
	// Once its session is logged out, the link is dead with it.
	e.do(t, "POST", "/api/v1/logout", nil, cookie(sesA)).must(t, 204)
	e.do(t, "GET", cam+"/live.m3u8"+q(live), nil, cookie(sesA)).must(t, 401)
}

func TestCreateMediaLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMedia)
	e.addCamera(t, "gate-1", "north", "")
	e.addCamera(t, "yard-1", "south", "")
	op := cookie(e.login(t, "op", pwOp))
	view := cookie(e.login(t, "view", pwView))
	aud := cookie(e.login(t, "aud", pwAud))
	root := cookie(e.login(t, "root", pwRoot))
	tests := []struct {
		name, camera, body string
		c                  cred
		want               int
	}{
		{"operator live", "gate-1", `{"kind":"live"}`, op, 201},
		{"operator export", "gate-1", `{"kind":"export"}`, op, 201},
		{"admin anywhere", "yard-1", `{"kind":"playback"}`, root, 201},
		{"viewer live", "gate-1", `{"kind":"live"}`, view, 201},
		{"viewer snapshot", "gate-1", `{"kind":"snapshot"}`, view, 201},
		{"viewer playback", "gate-1", `{"kind":"playback"}`, view, 403},
		{"viewer export", "gate-1", `{"kind":"export"}`, view, 403},
		{"auditor", "gate-1", `{"kind":"live"}`, aud, 403},
		{"outside the sites", "yard-1", `{"kind":"live"}`, op, 404},
		{"unknown camera", "nope", `{"kind":"live"}`, op, 404},
		{"unknown kind", "gate-1", `{"kind":"all"}`, op, 400},
		{"no kind", "gate-1", `{}`, op, 400},
		{"traversal id", "..%2Fgate-1", `{"kind":"live"}`, op, 400},
		{"basic has no session", "gate-1", `{"kind":"live"}`, asOp(), 400},
		{"no credentials", "gate-1", `{"kind":"live"}`, noCred, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/cameras/"+tt.camera+"/links", tt.body, tt.c).must(t, tt.want)
			if tt.want != 201 {
				r.errCode(t)
			}
		})
	}
}

// The link check itself, on the signer: the session, camera, kind and
// expiry each matter.
func TestLinkSignerVerify(t *testing.T) {
	t.Parallel()
	s, err := newLinkSigner()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tok := s.sign("ses-1", "gate-1", linkLive, now.Add(time.Minute))
	other, _ := newLinkSigner()
	tests := []struct {
		name, tok, session, camera, kind string
		at                               time.Time
		ok                               bool
	}{
		{"valid", tok, "ses-1", "gate-1", linkLive, now, true},
		{"last second", tok, "ses-1", "gate-1", linkLive, now.Add(time.Minute - time.Nanosecond), true},
		{"expired", tok, "ses-1", "gate-1", linkLive, now.Add(time.Minute), false},
		{"other session", tok, "ses-2", "gate-1", linkLive, now, false},
		{"no session", tok, "", "gate-1", linkLive, now, false},
		{"other camera", tok, "ses-1", "gate-2", linkLive, now, false},
		{"other kind", tok, "ses-1", "gate-1", linkExport, now, false},
		{"other hub's key", other.sign("ses-1", "gate-1", linkLive, now.Add(time.Minute)), "ses-1", "gate-1", linkLive, now, false},
		{"no mac", strings.Split(tok, ".")[0], "ses-1", "gate-1", linkLive, now, false},
	}
	for _, tt := range tests {
		err := s.verify(tt.tok, tt.session, tt.camera, tt.kind, tt.at)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}
