package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The media routes (stand-ins at the real paths, as other packages add
// them) under hostile credentials: expired sessions and bearer tokens
// (the clock moves past them), forged ones, and cross-origin writes riding
// a session cookie. Each is a JSON 401/403 and the handler never runs.
func TestMediaRoutesRefuseHostileCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMedia)
	e.addCamera(t, "gate-1", "north", "")
	expiredSes := e.login(t, "op", pwOp)
	var expTok tokenJSON
	e.do(t, "POST", "/api/v1/tokens", map[string]string{"name": "short", "expires_in": "1h"}, asOp()).must(t, 201).json(t, &expTok)
	liveLink := e.link(t, "gate-1", linkLive, cookie(expiredSes))
	// Both work until the clock moves on.
	e.do(t, "GET", "/api/v1/cameras/gate-1/live.m3u8", nil, bearer(expTok.Token)).must(t, 200)
	e.do(t, "GET", "/api/v1/cameras/gate-1/live.m3u8?access="+liveLink, nil, cookie(expiredSes)).must(t, 200)
	e.now = e.now.Add(25 * time.Hour) // past the session (24 h) and the token (1 h)
	fresh := e.login(t, "op", pwOp)
	freshLink := e.link(t, "gate-1", linkLive, cookie(fresh))

	cam := "/api/v1/cameras/gate-1"
	media := []struct{ method, path string }{
		{"GET", cam + "/live.m3u8"}, {"GET", cam + "/live/part-1.m4s"}, {"POST", cam + "/whep"},
		{"DELETE", cam + "/whep/abc"}, {"GET", cam + "/playback.m3u8"}, {"GET", cam + "/segments/1"},
		{"GET", cam + "/snapshot.jpg"}, {"GET", cam + "/export"},
	}
	creds := []struct {
		name string
		c    cred
		hdr  []string
		want int
	}{
		{"expired session", cookie(expiredSes), nil, 401},
		{"expired bearer", bearer(expTok.Token), nil, 401},
		{"forged bearer", bearer("vgl_" + strings.Repeat("A", 43)), nil, 401},
		{"forged cookie", cookie(strings.Repeat("A", 43)), nil, 401},
		{"bearer without token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer") }, nil, 401},
		{"unknown scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, nil, 401},
	}
	for _, m := range media {
		for _, c := range creds {
			t.Run(c.name+" "+m.method+" "+m.path, func(t *testing.T) {
				r := e.do(t, m.method, m.path, nil, c.c, c.hdr...).must(t, c.want)
				r.errCode(t)
				if strings.Contains(string(r.body), "media") {
					t.Fatalf("the media handler ran: %s", r.body)
				}
			})
		}
		// An expired session's link is dead even beside a fresh session
		// of the same user.
		t.Run("old link "+m.method+" "+m.path, func(t *testing.T) {
			e.do(t, m.method, m.path+"?access="+liveLink, nil, cookie(fresh)).must(t, 403).errCode(t)
		})
	}
	// Cross-origin writes with the fresh session's cookie are refused
	// before anything runs; the same from the hub's own origin work.
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		e.do(t, "POST", cam+"/whep?access="+freshLink, "v=0", cookie(fresh), h...).must(t, 403).errCode(t)
		e.do(t, "DELETE", cam+"/whep/abc", nil, cookie(fresh), h...).must(t, 403).errCode(t)
		e.do(t, "POST", cam+"/links", `{"kind":"live"}`, cookie(fresh), h...).must(t, 403).errCode(t)
	}
	e.do(t, "POST", cam+"/whep?access="+freshLink, "v=0", cookie(fresh), "Sec-Fetch-Site", "same-origin").must(t, 200)
	e.do(t, "POST", cam+"/links", `{"kind":"live"}`, cookie(fresh), "Sec-Fetch-Site", "same-origin").must(t, 201)
}
