package app

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/testutil"
)

// Media links on a real hub: a link works on the real media routes for the
// session that asked for it, and nowhere else.
func TestMediaLinksOnHub(t *testing.T) {
	ctx := testutil.Context(t, 90*time.Second)
	f := newIDORFixture(t, ctx)
	th := f.th
	opA := f.user(t, auth.RoleOperator, true)
	opAll := f.user(t, auth.RoleOperator, false)
	viewA := f.user(t, auth.RoleViewer, true)
	other := th.login(t, ctx, opA.name, opA.pw) // the same user, another session

	link := func(cookie, cam, kind string) string {
		t.Helper()
		a := th.call(t, ctx, "POST", v1+"/cameras/"+cam+"/links", `{"kind":"`+kind+`"}`, cookie).mustStatus(t, 201)
		var l struct{ Access, URL string }
		if err := json.Unmarshal([]byte(a.body), &l); err != nil || l.Access == "" {
			t.Fatalf("link: %s", a.body)
		}
		return url.QueryEscape(l.Access)
	}
	cam := v1 + "/cameras/" + camA
	rng := "from=" + f.from + "&to=" + f.to
	live, play := link(opA.cookie, camA, "live"), link(opA.cookie, camA, "playback")
	snap, exp := link(opA.cookie, camA, "snapshot"), link(opA.cookie, camA, "export")
	liveAll := link(opAll.cookie, camA, "live")
	tests := []struct {
		name, method, path, body, cookie string
		want                             int
		ctype                            string // of a 200 answer
	}{
		{"live playlist", "GET", cam + "/live.m3u8?access=" + live, "", opA.cookie, 200, "mpegurl"},
		{"live init", "GET", cam + "/live/" + f.files[camA] + "?access=" + live, "", opA.cookie, 200, "mp4"},
		{"playback playlist", "GET", cam + "/playback.m3u8?" + rng + "&access=" + play, "", opA.cookie, 200, "mpegurl"},
		{"segment", "GET", cam + "/segments/" + strconv.FormatInt(f.segs[camA], 10) + "?access=" + play, "", opA.cookie, 200, "mp4"},
		{"snapshot", "GET", cam + "/snapshot.jpg?access=" + snap, "", opA.cookie, 200, "jpeg"},
		{"export", "GET", cam + "/export?" + rng + "&reason=link&access=" + exp, "", opA.cookie, 200, "mp4"},
		{"whep gets past the link", "POST", cam + "/whep?access=" + live, "v=0\r\n", opA.cookie, 400, ""},

		{"other session of the same user", "GET", cam + "/live.m3u8?access=" + live, "", other, 403, ""},
		{"other user of the same site", "GET", cam + "/live.m3u8?access=" + live, "", viewA.cookie, 403, ""},
		{"no credentials", "GET", cam + "/live.m3u8?access=" + live, "", "", 401, ""},
		{"export link on another camera", "GET", v1 + "/cameras/" + camB + "/export?" + rng + "&access=" + url.QueryEscape(liveAll), "", opAll.cookie, 403, ""},
		{"live link on another camera", "GET", v1 + "/cameras/" + camB + "/live.m3u8?access=" + liveAll, "", opAll.cookie, 403, ""},
		{"live link for export", "GET", cam + "/export?" + rng + "&access=" + live, "", opA.cookie, 403, ""},
		{"link for a camera outside the sites", "POST", v1 + "/cameras/" + camB + "/links", `{"kind":"live"}`, opA.cookie, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.method == "POST" && strings.HasPrefix(tt.body, "v=0") {
				hdr = []string{"Content-Type", "application/sdp"}
			}
			a := th.call(t, ctx, tt.method, tt.path, tt.body, tt.cookie, hdr...)
			if a.status != tt.want {
				t.Fatalf("status %d, want %d: %.200s", a.status, tt.want, a.body)
			}
			if tt.want == 200 && (!strings.Contains(a.header.Get("Content-Type"), tt.ctype) || len(a.body) == 0) {
				t.Fatalf("answer %q, %d bytes", a.header.Get("Content-Type"), len(a.body))
			}
			if tt.want >= 400 && !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Fatalf("error is not JSON: %q", a.header.Get("Content-Type"))
			}
		})
	}
}
