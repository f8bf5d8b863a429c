package app

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/testutil"
)

// Hostile input against a real hub, on every kind of surface (the JSON API
// and the media routes): oversized bodies, path traversal and SQL
// metacharacters in ids and query parameters, forged, revoked and
// logged-out credentials, and cross-origin requests riding a session
// cookie. Each answers a clear JSON 4xx, leaks nothing, and changes
// nothing (checked afterwards).
func TestHostileInputEverySurface(t *testing.T) {
	ctx := testutil.Context(t, 90*time.Second)
	f := newIDORFixture(t, ctx)
	th := f.th
	root := th.login(t, ctx, "admin", testAdminPassword)
	opA := f.user(t, auth.RoleOperator, true)
	// Credentials that no longer (or never did) work.
	gone := th.login(t, ctx, opA.name, opA.pw)
	th.call(t, ctx, "POST", v1+"/logout", "", gone).mustStatus(t, 204)
	revoked, err := th.h.auth.CreateToken(ctx, opA.name, "revoked", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := th.h.auth.RevokeToken(ctx, opA.name, revoked.ID); err != nil {
		t.Fatal(err)
	}
	forged := auth.TokenPrefix + strings.Repeat("A", 43)
	basicWrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(opA.name+":not-the-password"))
	sql := "%27%20OR%201%3D1--"
	big := `{"kind":"` + strings.Repeat("a", 2<<20) + `"}`
	cam := v1 + "/cameras/" + camA
	media := []string{"/live.m3u8", "/live/" + f.files[camA], "/snapshot.jpg",
		"/playback.m3u8?from=" + f.from + "&to=" + f.to, "/segments/1", "/export?from=" + f.from + "&to=" + f.to}

	type hostile struct {
		name, method, path, body, cred string
		hdr                            []string
		want                           []int
	}
	var tests []hostile
	// Every media route with bad credentials.
	for _, m := range media {
		for _, c := range []struct{ name, cred string }{
			{"forged bearer", "Bearer " + forged},
			{"revoked bearer", "Bearer " + revoked.Secret},
			{"logged-out cookie", gone},
			{"garbage cookie", "not-a-session"},
			{"wrong basic", basicWrong},
			{"session id as bearer", "Bearer " + opA.cookie},
		} {
			want := []int{401}
			if c.cred == basicWrong {
				want = []int{401, 429} // failed passwords are rate limited
			}
			tests = append(tests, hostile{name: c.name + " " + m, method: "GET", path: cam + m, cred: c.cred, want: want})
		}
	}
	tests = append(tests,
		// Oversized bodies.
		hostile{"oversized link request", "POST", cam + "/links", big, root, nil, []int{413}},
		hostile{"oversized site", "POST", v1 + "/sites", `{"id":"huge","name":"` + strings.Repeat("a", 2<<20) + `"}`, root, nil, []int{413}},
		hostile{"oversized whep offer", "POST", cam + "/whep", "v=0\r\n" + strings.Repeat("a=x\r\n", 20000), root,
			[]string{"Content-Type", "application/sdp"}, []int{413}},
		// Path traversal in ids and file names.
		hostile{"traversal camera live", "GET", v1 + "/cameras/..%2F..%2F..%2Fetc%2Fpasswd/live.m3u8", "", root, nil, []int{400}},
		hostile{"traversal camera export", "GET", v1 + "/cameras/..%2Findex.db/export?from=" + f.from + "&to=" + f.to, "", root, nil, []int{400}},
		hostile{"encoded slash in camera", "GET", v1 + "/cameras/" + camA + "%2F..%2F" + camB + "/snapshot.jpg", "", opA.cookie, nil, []int{400}},
		hostile{"nul in camera", "GET", v1 + "/cameras/" + camA + "%00/live.m3u8", "", root, nil, []int{400}},
		hostile{"traversal segment", "GET", cam + "/segments/..%2F..%2Findex.db", "", root, nil, []int{400, 404}},
		hostile{"traversal live file", "GET", cam + "/live/..%2F..%2F..%2Fetc%2Fpasswd", "", root, nil, []int{400, 404}},
		hostile{"nul in live file", "GET", cam + "/live/init%00.mp4", "", root, nil, []int{400, 404}},
		hostile{"traversal whep session", "DELETE", cam + "/whep/..%2F..%2Fx", "", root, nil, []int{400, 404}},
		hostile{"traversal site", "GET", v1 + "/sites/..%2F" + siteB, "", opA.cookie, nil, []int{400}},
		// SQL metacharacters in ids and query parameters.
		hostile{"sql camera id", "GET", v1 + "/cameras/" + camB + sql + "/live.m3u8", "", opA.cookie, nil, []int{400}},
		hostile{"sql segment id", "GET", cam + "/segments/1" + sql, "", root, nil, []int{400, 404}},
		hostile{"sql playback from", "GET", cam + "/playback.m3u8?from=" + sql + "&to=" + f.to, "", root, nil, []int{400}},
		hostile{"sql export to", "GET", cam + "/export?from=" + f.from + "&to=" + sql, "", root, nil, []int{400}},
		hostile{"sql snapshot at", "GET", cam + "/snapshot.jpg?at=" + sql, "", root, nil, []int{400}},
		hostile{"sql recordings from", "GET", cam + "/recordings?from=" + sql, "", root, nil, []int{400}},
		hostile{"sql events site", "GET", v1 + "/events?site=" + sql, "", opA.cookie, nil, []int{400}},
		hostile{"sql user name", "GET", v1 + "/users/admin" + sql, "", root, nil, []int{400}},
		hostile{"sql link kind", "POST", cam + "/links", `{"kind":"live' OR 1=1--"}`, opA.cookie, nil, []int{400}},
		hostile{"sql media link", "GET", cam + "/live.m3u8?access=" + sql, "", opA.cookie, nil, []int{403}},
	)
	// Cross-origin writes riding a session cookie (CSRF).
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		for _, c := range []struct{ name, method, path, body string }{
			{"create site", "POST", v1 + "/sites", `{"id":"csrf-site"}`},
			{"delete camera", "DELETE", v1 + "/cameras/" + camA, ""},
			{"make admin", "PATCH", v1 + "/users/" + targetUser, `{"role":"admin"}`},
			{"create user", "POST", v1 + "/users", `{"username":"csrf-user","password":"csrf-password-1","role":"admin"}`},
			{"create token", "POST", v1 + "/tokens", `{"name":"csrf"}`},
			{"media link", "POST", cam + "/links", `{"kind":"live"}`},
			{"whep", "POST", cam + "/whep", "v=0\r\n"},
			{"logout", "POST", v1 + "/logout", ""},
		} {
			tests = append(tests, hostile{name: "csrf " + h[0] + " " + c.name, method: c.method, path: c.path, body: c.body,
				cred: root, hdr: h, want: []int{403}})
		}
	}

	secrets := []string{testAdminPassword, root, opA.cookie, revoked.Secret, opA.pw, "$argon2", "password_hash"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := th.call(t, ctx, tt.method, tt.path, tt.body, tt.cred, tt.hdr...)
			ok := false
			for _, w := range tt.want {
				ok = ok || a.status == w
			}
			if !ok {
				t.Fatalf("status %d, want %v: %.300s", a.status, tt.want, a.body)
			}
			var eb struct{ Error, Code string }
			if err := json.Unmarshal([]byte(a.body), &eb); err != nil || eb.Error == "" || eb.Code == "" {
				t.Fatalf("not a JSON error: %q %.300s", a.header.Get("Content-Type"), a.body)
			}
			for _, s := range secrets {
				if strings.Contains(a.body, s) {
					t.Fatalf("answer leaks a secret: %.300s", a.body)
				}
			}
			if strings.Contains(a.body, camB) || strings.Contains(a.body, siteB) || strings.Contains(a.body, "root:") {
				t.Fatalf("answer leaks something it should not name: %.300s", a.body)
			}
		})
	}

	// Nothing changed.
	th.call(t, ctx, "GET", v1+"/sites/csrf-site", "", root).mustStatus(t, 404)
	th.call(t, ctx, "GET", v1+"/sites/huge", "", root).mustStatus(t, 404)
	th.call(t, ctx, "GET", v1+"/cameras/"+camA, "", root).mustStatus(t, 200)
	th.call(t, ctx, "GET", v1+"/users/csrf-user", "", root).mustStatus(t, 404)
	var u struct{ Role string }
	if err := json.Unmarshal([]byte(th.call(t, ctx, "GET", v1+"/users/"+targetUser, "", root).mustStatus(t, 200).body), &u); err != nil || u.Role != "viewer" {
		t.Fatalf("target user's role = %q (%v)", u.Role, err)
	}
	toks, err := th.h.auth.ListTokens(ctx, "admin")
	if err != nil || len(toks) != 0 {
		t.Fatalf("admin tokens after cross-origin requests: %v %v", toks, err)
	}
	th.call(t, ctx, "GET", v1+"/me", "", root).mustStatus(t, 200) // not logged out
	// The same requests from the hub's own origin are accepted: the
	// cross-origin check does not refuse everything.
	th.call(t, ctx, "POST", v1+"/tokens", `{"name":"same-origin"}`, root, "Sec-Fetch-Site", "same-origin").mustStatus(t, 201)
	th.call(t, ctx, "POST", v1+"/sites", `{"id":"same-origin-site"}`, root, "Origin", th.base).mustStatus(t, 201)
}

// user returns the fixture's user of a role and scope.
func (f *idorFixture) user(t *testing.T, role auth.Role, scoped bool) *idorUser {
	t.Helper()
	for _, u := range f.users {
		if u.role == role && u.scoped == scoped {
			return u
		}
	}
	t.Fatalf("no %s user (scoped %v)", role, scoped)
	return nil
}
