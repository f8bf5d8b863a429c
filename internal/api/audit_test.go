package api

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

// auditEnv is an API with a running audit log and fake media routes that
// declare their audit actions as the real ones must.
type auditEnv struct {
	*env
	log  *audit.Log
	deps Deps
	ctx  context.Context
}

// fakeMediaRoutes mimic the media surfaces: live HLS (playlist and
// parts), WHEP, playback (playlist and segments), export and snapshot.
func fakeMediaRoutes() []Route {
	const cam = "/api/v1/cameras/{id}"
	okBody := func(body string) func(http.ResponseWriter, *http.Request, Request) {
		return func(w http.ResponseWriter, _ *http.Request, _ Request) { _, _ = w.Write([]byte(body)) }
	}
	return []Route{
		{Method: "GET", Path: cam + "/live.m3u8", Perm: auth.PermLive, Camera: true, Audit: AuditLive, Handler: okBody("#EXTM3U\n")},
		{Method: "GET", Path: cam + "/live/{file}", Perm: auth.PermLive, Camera: true, Handler: okBody("part")},
		{Method: "GET", Path: cam + "/playback.m3u8", Perm: auth.PermPlayback, Camera: true, Audit: audit.ActionPlayback,
			AuditQuery: true, Handler: okBody("#EXTM3U\n")},
		{Method: "GET", Path: cam + "/segments/{seg}", Perm: auth.PermPlayback, Camera: true, Handler: okBody("seg")},
		{Method: "GET", Path: cam + "/export", Perm: auth.PermExport, Camera: true, Audit: audit.ActionExport, AuditQuery: true,
			Handler: func(w http.ResponseWriter, r *http.Request, _ Request) {
				if r.URL.Query().Get("reason") == "" {
					WriteError(w, http.StatusBadRequest, "reason is required")
					return
				}
				_, _ = w.Write([]byte("mp4"))
			}},
		{Method: "GET", Path: cam + "/snapshot.jpg", Perm: auth.PermLive, Camera: true, Audit: audit.ActionSnapshot,
			AuditQuery: true, Handler: okBody("jpeg")},
		{Method: "POST", Path: cam + "/whep", Perm: auth.PermLive, Camera: true, Audit: audit.ActionLiveStart,
			Handler: func(w http.ResponseWriter, r *http.Request, req Request) {
				w.Header().Set("Location", "/api/v1/cameras/"+req.Camera.ID+"/whep/sess-1")
				w.WriteHeader(http.StatusCreated)
			}},
		{Method: "DELETE", Path: cam + "/whep/{session}", Perm: auth.PermLive, Camera: true, Audit: audit.ActionLiveStop,
			Handler: okBody("")},
	}
}

func newAuditEnv(t *testing.T, opt audit.Options, withAudit bool) *auditEnv {
	t.Helper()
	ae := &auditEnv{ctx: testutil.Context(t, 60*time.Second)}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ae.env = newEnv(t, func(d *Deps) {
		d.Routes = fakeMediaRoutes()
		if withAudit {
			if ae.log, err = audit.NewWithOptions(d.Index.(*sqlite.Store).DB(), audit.KeySigner{Key: priv}, nil, opt); err != nil {
				t.Fatal(err)
			}
			d.Audit = ae.log
		}
		ae.deps = *d
	})
	if withAudit {
		ctx, cancel := context.WithCancel(ae.ctx)
		done := make(chan error, 1)
		go func() { done <- ae.log.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	return ae
}

// records returns the whole trail, oldest first, as the auditor sees it.
func (ae *auditEnv) records(t *testing.T) []auditRecordJSON {
	t.Helper()
	var body struct {
		Records []auditRecordJSON `json:"records"`
		Next    string            `json:"next"`
	}
	ae.do(t, "GET", "/api/v1/audit?limit=1000", nil, asAud()).must(t, http.StatusOK).json(t, &body)
	out := make([]auditRecordJSON, 0, len(body.Records))
	for i := len(body.Records) - 1; i >= 0; i-- {
		out = append(out, body.Records[i])
	}
	return out
}

func (ae *auditEnv) verify(t *testing.T) verifyJSON {
	t.Helper()
	var v verifyJSON
	ae.do(t, "GET", "/api/v1/audit/verify", nil, asAud()).must(t, http.StatusOK).json(t, &v)
	return v
}

// want is one expected record; empty fields are not compared.
type want struct {
	action, user, camera, reason, from, detail string
}

func TestAuditScriptedSession(t *testing.T) {
	t.Parallel()
	ae := newAuditEnv(t, audit.Options{FlushInterval: 5 * time.Millisecond, LiveIdle: 200 * time.Millisecond}, true)
	ae.addCamera(t, "gate", "north", "rtsp://u:topsecret@10.0.0.5/s")
	ae.addCamera(t, "yard", "south", "")

	ae.do(t, "POST", "/api/v1/login", map[string]string{"username": "op", "password": "wrong-password"}, noCred).must(t, http.StatusUnauthorized)
	res := ae.do(t, "POST", "/api/v1/login", map[string]string{"username": "op", "password": pwOp}, noCred).must(t, http.StatusOK)
	var sess string
	for _, c := range res.res.Cookies() {
		if c.Name == SessionCookie {
			sess = c.Value
		}
	}
	op := cookie(sess)
	from, to := "2025-06-01T10:00:00Z", "2025-06-01T10:05:00Z"
	rng := "from=" + from + "&to=" + to
	ae.do(t, "GET", "/api/v1/cameras/gate/recordings?"+rng, nil, op).must(t, http.StatusOK)
	ae.do(t, "GET", "/api/v1/events?camera=gate&"+rng, nil, op).must(t, http.StatusOK)
	for range 3 {
		ae.do(t, "GET", "/api/v1/cameras/gate/live.m3u8", nil, op).must(t, http.StatusOK)
		ae.do(t, "GET", "/api/v1/cameras/gate/live/part1.m4s", nil, op).must(t, http.StatusOK)
	}
	ae.do(t, "GET", "/api/v1/cameras/gate/playback.m3u8?"+rng+"&reason="+url.QueryEscape("case 42"), nil, op).must(t, http.StatusOK)
	for range 3 {
		ae.do(t, "GET", "/api/v1/cameras/gate/segments/7", nil, op).must(t, http.StatusOK)
	}
	ae.do(t, "GET", "/api/v1/cameras/gate/export?"+rng, nil, op).must(t, http.StatusBadRequest)               // no reason: refused, not audited
	ae.do(t, "HEAD", "/api/v1/cameras/gate/export?"+rng+"&reason=incident+7", nil, op).must(t, http.StatusOK) // the page's check: not an export
	ae.do(t, "GET", "/api/v1/cameras/gate/export?"+rng+"&reason=incident+7", nil, op).must(t, http.StatusOK)
	ae.do(t, "GET", "/api/v1/cameras/gate/export?"+rng+"&reason=incident+7", nil, op, "Range", "bytes=100-").must(t, http.StatusOK) // resumed: same export
	ae.do(t, "GET", "/api/v1/cameras/yard/export?"+rng+"&reason=x", nil, op).must(t, http.StatusNotFound)                           // outside op's sites
	ae.do(t, "GET", "/api/v1/cameras/yard/recordings", nil, op).must(t, http.StatusNotFound)
	ae.do(t, "GET", "/api/v1/cameras/gate/snapshot.jpg?at="+from, nil, op).must(t, http.StatusOK)
	ae.do(t, "POST", "/api/v1/cameras/gate/whep", "v=0", op, "Content-Type", "application/sdp").must(t, http.StatusCreated)
	ae.do(t, "DELETE", "/api/v1/cameras/gate/whep/sess-1", nil, op).must(t, http.StatusOK)
	ae.do(t, "PATCH", "/api/v1/cameras/gate", map[string]any{"name": "Gate 1", "source": "rtsp://u:othersecret@10.0.0.6/s"}, asRoot()).must(t, http.StatusOK)
	ae.do(t, "PATCH", "/api/v1/cameras/gate", map[string]any{"site": "nowhere"}, asRoot()) // refused: not audited
	ae.do(t, "POST", "/api/v1/users", map[string]any{"username": "eve", "password": "eve-password-1", "role": "viewer"}, asRoot()).must(t, http.StatusCreated)
	ae.do(t, "POST", "/api/v1/sites", map[string]any{"id": "east", "name": "East"}, asRoot()).must(t, http.StatusCreated)
	var tok struct{ ID, Token string }
	ae.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "cli"}, op).must(t, http.StatusCreated).json(t, &tok)
	ae.do(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, op).must(t, http.StatusNoContent)
	ae.do(t, "POST", "/api/v1/logout", nil, op).must(t, http.StatusNoContent)
	deadline := time.Now().Add(10 * time.Second)
	for ae.log.Watching() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	exp := []want{
		{action: "change", user: "root", camera: "gate", detail: `{"fields":["id","site","source"],"method":"POST","resource":"cameras","target":"gate"}`},
		{action: "change", user: "root", camera: "yard", detail: `{"fields":["id","site"],"method":"POST","resource":"cameras","target":"yard"}`},
		{action: "login_failed", user: "op", detail: `{"status":401}`},
		{action: "login", user: "op"},
		{action: "search", user: "op", camera: "gate", from: "2025-06-01T10:00:00.000000000Z", detail: `{"what":"recordings"}`},
		{action: "search", user: "op", camera: "gate", from: "2025-06-01T10:00:00.000000000Z", detail: `{"what":"events"}`},
		{action: "live_start", user: "op", camera: "gate", detail: `{"via":"hls"}`},
		{action: "playback", user: "op", camera: "gate", reason: "case 42", from: "2025-06-01T10:00:00.000000000Z"},
		{action: "export", user: "op", camera: "gate", reason: "incident 7", from: "2025-06-01T10:00:00.000000000Z"},
		{action: "snapshot", user: "op", camera: "gate", from: "2025-06-01T10:00:00.000000000Z"},
		{action: "live_start", user: "op", camera: "gate", detail: `{"session":"sess-1","via":"whep"}`},
		{action: "live_stop", user: "op", camera: "gate", detail: `{"session":"sess-1","via":"whep"}`},
		{action: "change", user: "root", camera: "gate", detail: `{"fields":["name","source"],"method":"PATCH","resource":"cameras","target":"gate"}`},
		{action: "change", user: "root", detail: `{"fields":["password","role","username"],"method":"POST","resource":"users","target":"eve"}`},
		{action: "change", user: "root", detail: `{"fields":["id","name"],"method":"POST","resource":"sites","target":"east"}`},
		{action: "change", user: "op", detail: `{"fields":["name"],"method":"POST","resource":"tokens","target":"TOKEN"}`},
		{action: "change", user: "op", detail: `{"method":"DELETE","resource":"tokens","target":"TOKEN"}`},
		{action: "logout", user: "op", detail: `{"via":"session"}`},
		{action: "live_stop", user: "op", camera: "gate"},
	}
	for i := range exp {
		exp[i].detail = strings.ReplaceAll(exp[i].detail, "TOKEN", tok.ID)
	}
	got := ae.records(t)
	if len(got) != len(exp) {
		for _, r := range got {
			t.Logf("%d %s %s %s %s", r.Seq, r.Action, r.User, r.Camera, r.Detail)
		}
		t.Fatalf("%d records, want %d", len(got), len(exp))
	}
	for i, w := range exp {
		r := got[i]
		bad := r.Seq != int64(i+1) || r.Action != w.action || r.User != w.user || r.Camera != w.camera || r.Reason != w.reason ||
			(w.from != "" && r.From != w.from) || (w.detail != "" && string(r.Detail) != w.detail)
		if bad {
			t.Errorf("record %d: %+v\nwant %+v", i+1, r, w)
		}
		if r.Remote != "192.0.2.1" || r.Time == "" {
			t.Errorf("record %d: remote %q time %q", i+1, r.Remote, r.Time)
		}
		if r.User == "op" && r.Action != "login_failed" && (r.Role != "operator") {
			t.Errorf("record %d: role %q", i+1, r.Role)
		}
		if (r.Camera == "gate" && r.Site != "north") || (r.Camera == "" && r.Site != "" && r.Site != "east") {
			t.Errorf("record %d: site %q", i+1, r.Site)
		}
	}
	raw := ae.do(t, "GET", "/api/v1/audit?limit=1000", nil, asAud()).must(t, http.StatusOK).body
	for _, secret := range []string{"topsecret", "othersecret", "wrong-password", pwOp, "eve-password-1", sess, tok.Token} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("audit trail holds a secret %q", secret)
		}
	}
	// Every listing and verification is itself recorded.
	v := ae.verify(t)
	if !v.OK || v.FirstBad != nil || v.Records != int64(len(exp))+2 {
		t.Fatalf("verify %+v", v)
	}
	views := ae.do(t, "GET", "/api/v1/audit?action=audit_view&user=aud", nil, asAud()).must(t, http.StatusOK)
	var vb struct{ Records []auditRecordJSON }
	views.json(t, &vb)
	if len(vb.Records) != 3 || string(vb.Records[0].Detail) != `{"ok":true,"what":"verify"}` {
		t.Fatalf("audit views %+v", vb.Records)
	}
}

func TestAuditVerifyAPIFindsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sql  []string
		bad  int64
	}{
		{"edit a reason", []string{`UPDATE audit_log SET reason = 'routine' WHERE seq = 3`}, 3},
		{"delete a row", []string{`DELETE FROM audit_log WHERE seq = 2`}, 2},
		// A forged row after the last one (seq 100, so that the hub's own
		// next record does not collide with it): 7 is missing.
		{"insert a row", []string{`INSERT INTO audit_log SELECT 100, time, 'mallory', role, action, camera, site, from_time,
			to_time, 'nothing', remote, detail, hash, hash FROM audit_log WHERE seq = 6`}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ae := newAuditEnv(t, audit.Options{FlushInterval: 5 * time.Millisecond}, true)
			ae.addCamera(t, "gate", "north", "")
			for i := range 4 {
				ae.do(t, "GET", fmt.Sprintf("/api/v1/cameras/gate/export?reason=r%d", i), nil, asOp()).must(t, http.StatusOK)
			}
			if v := ae.verify(t); !v.OK || v.Records != 5 {
				t.Fatalf("before: %+v", v)
			}
			if err := ae.log.Sync(ae.ctx); err != nil { // the verification's own record (6)
				t.Fatal(err)
			}
			db := ae.idx.DB()
			for _, q := range append([]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}, c.sql...) {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			v := ae.verify(t)
			if v.OK || v.FirstBad == nil || *v.FirstBad != c.bad || v.Reason == "" {
				t.Fatalf("after: %+v, want first_bad %d", v, c.bad)
			}
			var generic map[string]any
			ae.do(t, "GET", "/api/v1/audit/verify", nil, asAud()).json(t, &generic)
			if _, ok := generic["first_bad"]; !ok {
				t.Fatalf("no first_bad in %v", generic)
			}
		})
	}
}

func TestAuditRoutesNeedAuditPermission(t *testing.T) {
	t.Parallel()
	ae := newAuditEnv(t, audit.Options{FlushInterval: 5 * time.Millisecond}, true)
	cases := []struct {
		c    cred
		code int
	}{{asRoot(), 200}, {asAud(), 200}, {asOp(), 403}, {asOpAll(), 403}, {asView(), 403}, {noCred, 401}}
	for _, c := range cases {
		for _, p := range []string{"/api/v1/audit", "/api/v1/audit/verify"} {
			ae.do(t, "GET", p, nil, c.c).must(t, c.code)
		}
	}
	for _, q := range []string{"limit=0", "limit=x", "from=yesterday", "cursor=abc", "cursor=-4", "user=%00", "action=" + strings.Repeat("a", 300)} {
		if code := ae.do(t, "GET", "/api/v1/audit?"+q, nil, asAud()).must(t, http.StatusBadRequest).errCode(t); code != codeBadRequest {
			t.Errorf("%s: code %s", q, code)
		}
	}
	// Without an Auditor there are no audit routes and nothing is recorded.
	plain := newAuditEnv(t, audit.Options{}, false)
	plain.do(t, "GET", "/api/v1/audit", nil, asAud()).must(t, http.StatusNotFound)
}

func TestPlaybackReasonRequired(t *testing.T) {
	t.Parallel()
	ae := newAuditEnv(t, audit.Options{FlushInterval: 5 * time.Millisecond}, true)
	ae.addCamera(t, "gate", "north", "")
	strict, err := New(Config{RequirePlaybackReason: true}, ae.deps)
	if err != nil {
		t.Fatal(err)
	}
	loose := ae.api
	for _, c := range []struct {
		name  string
		api   *API
		query string
		code  int
	}{
		{"strict without reason", strict, "", http.StatusBadRequest},
		{"strict with a blank reason", strict, "?reason=+", http.StatusBadRequest},
		{"strict with reason", strict, "?reason=theft", http.StatusOK},
		{"loose without reason", loose, "", http.StatusOK},
		{"strict with an overlong reason", strict, "?reason=" + strings.Repeat("%C3%A9", 400), http.StatusOK},
	} {
		ae.api = c.api
		ae.do(t, "GET", "/api/v1/cameras/gate/playback.m3u8"+c.query, nil, asOp()).must(t, c.code)
	}
	ae.api = loose
	var reasons []string
	for _, r := range ae.records(t) {
		if r.Action == audit.ActionPlayback {
			reasons = append(reasons, r.Reason)
		}
	}
	if len(reasons) != 3 || reasons[0] != "theft" || reasons[1] != "" || reasons[2] != strings.Repeat("é", 250) {
		t.Fatalf("playback reasons %q", reasons)
	}
}
