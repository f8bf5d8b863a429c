package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// IDOR suite: every role and scope against every route the hub serves and
// the RTSP re-stream, for a camera (and site) inside the caller's scope and
// one outside it. The expectations come from the contract's role table,
// written out here by hand (not derived from auth.Role.Can, which is what
// is under test):
//
//	admin     everything (never limited to sites)
//	operator  live, playback, export, events, in its sites
//	viewer    live and events, in its sites
//	auditor   the audit trail; no video
//
// A role the route does not allow answers 403; a camera or site outside the
// caller's sites answers 404 exactly like one that does not exist (never
// 403, never data); lists never show things of other sites. A route the hub
// serves that is not in idorTable fails the test.

// Scope of a route: what its {id} names, for the in/out-of-scope calls.
type idorScope int

const (
	scopeNone   idorScope = iota // not about a site's things
	scopeCamera                  // {id} is a camera
	scopeSite                    // {id} is a site
	scopeList                    // lists things of many sites
)

// Fixture names.
const (
	siteA, siteB = "idor-site-a", "idor-site-b"
	// The cameras are pushed by the simulator as {pushPrefix}1 and 2.
	pushPrefix = "idor-cam-"
	camA, camB = pushPrefix + "1", pushPrefix + "2"
	targetUser = "idor-target"
	// Cameras that wait for a push, for RTSP publishing (RECORD) checks.
	pubA, pubB = "idor-pub-a", "idor-pub-b"
)

type idorRoute struct {
	pattern string // "METHOD /path" exactly as the API registers it
	// roles allowed ("public": no credentials needed).
	roles []string
	scope idorScope
	// path to call; {id} (camera or site), {file}, {session}, {seg},
	// {name} and {token} are filled in per call.
	path  string
	body  string
	ctype string
	// ok are the statuses of an allowed, in-scope call: the route's normal
	// answer for the fixture (cameras that do not publish answer 503, a
	// missing WHEP session 404, ...). A 404 in ok is never the scope's
	// "camera not found"/"site not found".
	ok []int
	// showsB: for a list, callers who see every site must find site B's
	// things in it (so the check that scoped callers do not is not vacuous).
	showsB string
}

var (
	anyRole  = []string{"admin", "operator", "viewer", "auditor"}
	admin    = []string{"admin"}
	liveR    = []string{"admin", "operator", "viewer"}
	playR    = []string{"admin", "operator"}
	auditR   = []string{"admin", "auditor"}
	publicR  = []string{"public"}
	viewR    = []string{"admin", "operator", "viewer"} // see sites and cameras
	eventsR  = []string{"admin", "operator", "viewer"}
	exportR  = []string{"admin", "operator"}
	metricsR = []string{"admin"}
)

const v1 = "/api/v1"

// idorTable lists every route pattern a hub serves. Add new routes here.
var idorTable = []idorRoute{
	{pattern: "GET /healthz", roles: publicR, path: "/healthz", ok: []int{200}},
	{pattern: "GET /readyz", roles: publicR, path: "/readyz", ok: []int{200}},
	{pattern: "GET /metrics", roles: metricsR, path: "/metrics", ok: []int{200}},
	{pattern: "POST /api/v1/login", roles: publicR, path: v1 + "/login", body: `{"username":"{user}","password":"{pw}"}`, ok: []int{200}},
	{pattern: "POST /api/v1/logout", roles: anyRole, path: v1 + "/logout", ok: []int{204}},
	{pattern: "GET /api/v1/me", roles: anyRole, path: v1 + "/me", ok: []int{200}},

	{pattern: "GET /api/v1/tokens", roles: anyRole, path: v1 + "/tokens", ok: []int{200}},
	{pattern: "POST /api/v1/tokens", roles: anyRole, path: v1 + "/tokens", body: `{"name":"idor"}`, ok: []int{201}},
	{pattern: "DELETE /api/v1/tokens/{id}", roles: anyRole, path: v1 + "/tokens/{token}", ok: []int{204}},

	{pattern: "GET /api/v1/users", roles: admin, path: v1 + "/users", ok: []int{200}},
	{pattern: "POST /api/v1/users", roles: admin, path: v1 + "/users", body: `{"username":"{fresh}","password":"fresh-password-1","role":"viewer"}`, ok: []int{201}},
	{pattern: "GET /api/v1/users/{name}", roles: admin, path: v1 + "/users/{name}", ok: []int{200}},
	{pattern: "PATCH /api/v1/users/{name}", roles: admin, path: v1 + "/users/{name}", body: `{"role":"viewer"}`, ok: []int{200}},
	{pattern: "DELETE /api/v1/users/{name}", roles: admin, path: v1 + "/users/{doomed}", ok: []int{204}},

	{pattern: "GET /api/v1/sites", roles: viewR, scope: scopeList, path: v1 + "/sites", ok: []int{200}, showsB: siteB},
	{pattern: "POST /api/v1/sites", roles: admin, path: v1 + "/sites", body: `{"id":"{fresh}"}`, ok: []int{201}},
	{pattern: "GET /api/v1/sites/{id}", roles: viewR, scope: scopeSite, path: v1 + "/sites/{id}", ok: []int{200}},
	{pattern: "PATCH /api/v1/sites/{id}", roles: admin, scope: scopeSite, path: v1 + "/sites/{id}", body: `{"name":"renamed"}`, ok: []int{200}},
	// A site with cameras cannot be deleted: 409 proves the call got past
	// authorization without changing anything.
	{pattern: "DELETE /api/v1/sites/{id}", roles: admin, scope: scopeSite, path: v1 + "/sites/{id}", ok: []int{409}},

	{pattern: "GET /api/v1/cameras", roles: viewR, scope: scopeList, path: v1 + "/cameras", ok: []int{200}, showsB: camB},
	{pattern: "POST /api/v1/cameras", roles: admin, path: v1 + "/cameras", body: `{"id":"{fresh}","site":"` + siteA + `"}`, ok: []int{201}},
	{pattern: "GET /api/v1/cameras/{id}", roles: viewR, scope: scopeCamera, path: v1 + "/cameras/{id}", ok: []int{200}},
	{pattern: "PATCH /api/v1/cameras/{id}", roles: admin, scope: scopeCamera, path: v1 + "/cameras/{id}", body: `{"name":"renamed"}`, ok: []int{200}},
	// Deletes a fresh camera in the target's site, made for each call.
	{pattern: "DELETE /api/v1/cameras/{id}", roles: admin, scope: scopeCamera, path: v1 + "/cameras/{doomed}", ok: []int{204}},
	{pattern: "GET /api/v1/cameras/{id}/recordings", roles: playR, scope: scopeCamera, path: v1 + "/cameras/{id}/recordings", ok: []int{200}},
	{pattern: "POST /api/v1/cameras/{id}/links", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/links", body: `{"kind":"live"}`, ok: []int{201}},

	{pattern: "GET /api/v1/cameras/{id}/live.m3u8", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/live.m3u8", ok: []int{200}},
	{pattern: "GET /api/v1/cameras/{id}/live/{file}", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/live/{file}", ok: []int{200}},
	{pattern: "POST /api/v1/cameras/{id}/whep", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/whep", body: "v=0\r\n", ctype: "application/sdp", ok: []int{400}},
	{pattern: "DELETE /api/v1/cameras/{id}/whep/{session}", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/whep/0123456789abcdef", ok: []int{404}},
	{pattern: "PATCH /api/v1/cameras/{id}/whep/{session}", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/whep/0123456789abcdef", body: "a=candidate:1", ctype: "application/trickle-ice-sdpfrag", ok: []int{405}},
	{pattern: "GET /api/v1/cameras/{id}/snapshot.jpg", roles: liveR, scope: scopeCamera, path: v1 + "/cameras/{id}/snapshot.jpg", ok: []int{200}},
	{pattern: "GET /api/v1/cameras/{id}/playback.m3u8", roles: playR, scope: scopeCamera, path: v1 + "/cameras/{id}/playback.m3u8?from={from}&to={to}", ok: []int{200}},
	{pattern: "GET /api/v1/cameras/{id}/segments/{seg}", roles: playR, scope: scopeCamera, path: v1 + "/cameras/{id}/segments/{seg}", ok: []int{200}},
	{pattern: "GET /api/v1/cameras/{id}/export", roles: exportR, scope: scopeCamera, path: v1 + "/cameras/{id}/export?from={from}&to={to}&reason=idor", ok: []int{200}},
	{pattern: "GET /api/v1/exports", roles: exportR, scope: scopeList, path: v1 + "/exports", ok: []int{200}},
	{pattern: "GET /api/v1/events", roles: eventsR, scope: scopeList, path: v1 + "/events", ok: []int{200}, showsB: camB},

	// The hub's export signing key: for who receives signed files (export)
	// and who checks them (audit).
	// gateways: the fixture names one after each site, in that site
	{pattern: "GET /api/v1/gateways", roles: playR, scope: scopeList, path: v1 + "/gateways", ok: []int{200}, showsB: siteB},
	{pattern: "POST /api/v1/gateways", roles: admin, path: v1 + "/gateways", body: `{"id":"{fresh}","site":"` + siteA + `"}`, ok: []int{201}},
	{pattern: "GET /api/v1/gateways/{id}", roles: playR, scope: scopeSite, path: v1 + "/gateways/{id}", ok: []int{200}},
	{pattern: "POST /api/v1/gateways/{id}/token", roles: admin, scope: scopeSite, path: v1 + "/gateways/{id}/token", ok: []int{201, 409}},
	{pattern: "DELETE /api/v1/gateways/{id}", roles: admin, scope: scopeSite, path: v1 + "/gateways/{id}", ok: []int{204}},
	{pattern: "GET /api/v1/keys/export.pem", roles: []string{"admin", "operator", "auditor"}, path: v1 + "/keys/export.pem", ok: []int{200}},
	// Routes of the audit trail (issue 5).
	{pattern: "GET /api/v1/audit", roles: auditR, scope: scopeList, path: v1 + "/audit", ok: []int{200}},
	{pattern: "GET /api/v1/audit/verify", roles: auditR, path: v1 + "/audit/verify", ok: []int{200}},
}

// idorUser is one role and scope combination.
type idorUser struct {
	name   string
	role   auth.Role
	scoped bool // limited to siteA
	pw     string
	cookie string
}

func (u *idorUser) label() string {
	if u.scoped {
		return string(u.role) + "@" + siteA
	}
	return string(u.role) + "@all"
}

// idorFixture is the hub with two sites, a camera in each (no source: they
// wait for a push), an event and a segment row for each camera, and the
// users.
type idorFixture struct {
	th    *testHub
	users []*idorUser
	segs  map[string]int64  // camera -> its first segment's id
	files map[string]string // camera -> its live init file name
	from  string
	to    string

	mu    sync.Mutex
	fresh int
}

func (f *idorFixture) next(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fresh++
	return prefix + strconv.Itoa(f.fresh)
}

func newIDORFixture(t *testing.T, ctx context.Context) *idorFixture {
	t.Helper()
	th := startTestHub(t, ctx)
	h := th.h
	f := &idorFixture{th: th, segs: map[string]int64{}, files: map[string]string{}}
	root := th.login(t, ctx, "admin", testAdminPassword)
	for _, s := range []string{siteA, siteB} {
		th.call(t, ctx, "POST", v1+"/sites", `{"id":"`+s+`"}`, root).mustStatus(t, 201)
	}
	for _, s := range []string{siteA, siteB} {
		th.call(t, ctx, "POST", v1+"/gateways", `{"id":"`+s+`","site":"`+s+`"}`, root).mustStatus(t, 201)
	}
	for cam, site := range map[string]string{camA: siteA, camB: siteB, pubA: siteA, pubB: siteB} {
		// Through the API, so the camera runs (waiting for a push) and
		// RTSP knows its site.
		th.call(t, ctx, "POST", v1+"/cameras", `{"id":"`+cam+`","site":"`+site+`"}`, root).mustStatus(t, 201)
	}
	start := time.Now().UTC()
	f.push(t, ctx)
	for cam, site := range map[string]string{camA: siteA, camB: siteB} {
		if _, err := h.idx.AddEvent(ctx, index.Event{Camera: cam, Site: site, Type: "motion", Start: start, Data: "{}"}); err != nil {
			t.Fatal(err)
		}
		f.segs[cam] = f.waitRecorded(t, ctx, cam, start)
		f.files[cam] = f.liveInit(t, ctx, cam, root)
	}
	f.from = start.Add(-time.Minute).Format(time.RFC3339)
	f.to = time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	if _, err := h.auth.CreateUser(ctx, auth.NewUser{Username: targetUser, Password: "target-password-1", Role: auth.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	// An admin is never limited to sites: that combination cannot exist.
	if _, err := h.auth.CreateUser(ctx, auth.NewUser{Username: "idor-admin-scoped", Password: "idor-password-1", Role: auth.RoleAdmin, Sites: []string{siteA}}); err == nil {
		t.Fatal("a site-scoped admin was created")
	}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleOperator, auth.RoleViewer, auth.RoleAuditor} {
		for _, scoped := range []bool{false, true} {
			if role == auth.RoleAdmin && scoped {
				continue
			}
			u := &idorUser{name: "idor-" + string(role), role: role, scoped: scoped, pw: "idor-password-" + string(role)}
			var sites []string
			if scoped {
				u.name += "-a"
				sites = []string{siteA}
			}
			if _, err := h.auth.CreateUser(ctx, auth.NewUser{Username: u.name, Password: u.pw, Role: role, Sites: sites}); err != nil {
				t.Fatal(err)
			}
			u.cookie = th.login(t, ctx, u.name, u.pw)
			f.users = append(f.users, u)
		}
	}
	return f
}

// push publishes the simulator's clip to both cameras over RTSP (as the
// admin) until the test ends.
func (f *idorFixture) push(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = sim.Push(pctx, sim.PushConfig{Target: "rtsp://" + f.th.rtsp, User: "admin", Pass: testAdminPassword,
			Cameras: 2, Prefix: pushPrefix})
	}()
	t.Cleanup(func() { stop(); <-done })
}

// waitRecorded waits until cam has a segment with a durable fragment and
// returns its id.
func (f *idorFixture) waitRecorded(t *testing.T, ctx context.Context, cam string, since time.Time) int64 {
	t.Helper()
	for {
		segs, err := f.th.h.idx.Segments(ctx, cam, since.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) > 0 && len(segs[0].Fragments) > 1 {
			return segs[0].ID
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s recorded nothing", cam)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// liveInit asks for cam's live playlist (as the admin) and returns the
// name of its init file.
func (f *idorFixture) liveInit(t *testing.T, ctx context.Context, cam, root string) string {
	t.Helper()
	a := f.th.call(t, ctx, "GET", v1+"/cameras/"+cam+"/live.m3u8", "", root).mustStatus(t, 200)
	_, rest, ok := strings.Cut(a.body, `#EXT-X-MAP:URI="`)
	uri, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("live playlist without a map: %s", a.body)
	}
	uri, _, _ = strings.Cut(uri, "?")
	return uri[strings.LastIndex(uri, "/")+1:]
}

func (a answer) mustStatus(t *testing.T, want int) answer {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d: %s", a.status, want, a.body)
	}
	return a
}

// scopeNotFound reports whether a is the 404 of a camera or site outside
// the caller's scope (or missing).
func scopeNotFound(a answer) bool {
	return a.status == 404 && (strings.Contains(a.body, `"camera not found"`) || strings.Contains(a.body, `"site not found"`) ||
		strings.Contains(a.body, `"gateway not found"`))
}

// prepare fills a route's path and body for one call and returns the
// credential to use (normally the user's session).
func (f *idorFixture) prepare(t *testing.T, ctx context.Context, rt idorRoute, u *idorUser, target string) (path, body, cred string) {
	t.Helper()
	h := f.th.h
	cred = u.cookie
	site := siteA
	if target == camB || target == siteB {
		site = siteB
	}
	r := strings.NewReplacer("{id}", target, "{file}", f.files[target], "{name}", targetUser, "{user}", u.name, "{pw}", u.pw,
		"{from}", f.from, "{to}", f.to, "{seg}", strconv.FormatInt(f.segs[target], 10))
	path, body = r.Replace(rt.path), r.Replace(rt.body)
	if strings.Contains(body, "{fresh}") {
		body = strings.ReplaceAll(body, "{fresh}", f.next("idor-new-"))
	}
	switch {
	case strings.Contains(path, "/cameras/{doomed}"):
		id := f.next("idor-doomed-")
		if _, err := h.idx.CreateCamera(ctx, index.Camera{ID: id, Name: id, Site: site, Analytics: "{}"}); err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{doomed}", id)
	case strings.Contains(path, "/users/{doomed}"):
		name := f.next("idor-doomed-")
		if _, err := h.auth.CreateUser(ctx, auth.NewUser{Username: name, Password: "doomed-password-1", Role: auth.RoleViewer}); err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{doomed}", name)
	case strings.Contains(path, "{token}"):
		tok, err := h.auth.CreateToken(ctx, u.name, f.next("idor-tok-"), 0)
		if err != nil {
			t.Fatal(err)
		}
		path = strings.ReplaceAll(path, "{token}", tok.ID)
	case rt.pattern == "POST /api/v1/logout":
		cred = f.th.login(t, ctx, u.name, u.pw) // a session of its own
	}
	return path, body, cred
}

func TestIDORSuite(t *testing.T) {
	ctx := testutil.Context(t, 90*time.Second)
	f := newIDORFixture(t, ctx)

	// Every served route is in the table.
	table := map[string]idorRoute{}
	for _, rt := range idorTable {
		table[rt.pattern] = rt
	}
	served := f.th.h.api.Patterns()
	var routes []idorRoute
	for _, p := range served {
		rt, ok := table[p]
		if !ok {
			t.Errorf("route %s is not in the IDOR table (idorTable): add its roles, scope and answers", p)
			continue
		}
		routes = append(routes, rt)
	}
	for _, rt := range idorTable {
		if !slices.Contains(served, rt.pattern) {
			t.Logf("table route %s is not served by this hub (yet)", rt.pattern)
		}
	}

	for _, u := range f.users {
		t.Run(u.label(), func(t *testing.T) {
			t.Parallel()
			for _, rt := range routes {
				targets := []string{""}
				switch rt.scope {
				case scopeCamera:
					targets = []string{camA, camB}
				case scopeSite:
					targets = []string{siteA, siteB}
				}
				for _, target := range targets {
					f.check(t, ctx, rt, u, target)
				}
			}
			f.checkCrossCamera(t, ctx, u)
			f.checkFilters(t, ctx, u)
			f.checkOthersToken(t, ctx, u)
			f.checkUplink(t, ctx, u)
		})
	}
	t.Run("rtsp", func(t *testing.T) {
		for _, u := range f.users {
			for _, cam := range []string{camA, camB} {
				f.checkRTSP(t, ctx, u, cam)
			}
			for _, cam := range []string{pubA, pubB} {
				f.checkRTSPPublish(t, u, cam)
			}
		}
	})
}

// check calls one route as u on target and judges the answer.
func (f *idorFixture) check(t *testing.T, ctx context.Context, rt idorRoute, u *idorUser, target string) {
	t.Helper()
	path, body, cred := f.prepare(t, ctx, rt, u, target)
	method, _, _ := strings.Cut(rt.pattern, " ")
	var hdr []string
	if rt.ctype != "" {
		hdr = []string{"Content-Type", rt.ctype}
	}
	a := f.th.call(t, ctx, method, path, body, cred, hdr...)
	what := fmt.Sprintf("%s as %s on %q (%s)", rt.pattern, u.label(), target, path)
	allowed := slices.Contains(rt.roles, "public") || slices.Contains(rt.roles, string(u.role))
	outside := u.scoped && (target == camB || target == siteB)
	switch {
	case !allowed:
		if a.status != 403 {
			t.Errorf("%s: status %d, want 403 (role not allowed): %.200s", what, a.status, a.body)
		}
	case outside:
		if !scopeNotFound(a) {
			t.Errorf("%s: status %d, want 404 camera/site not found (outside the caller's sites): %.200s", what, a.status, a.body)
		}
	default:
		if !slices.Contains(rt.ok, a.status) || scopeNotFound(a) {
			t.Errorf("%s: status %d, want one of %v (allowed, in scope): %.200s", what, a.status, rt.ok, a.body)
		}
	}
	if a.status >= 400 && a.status != 404 && !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Errorf("%s: error %d is not JSON: %q", what, a.status, a.header.Get("Content-Type"))
	}
	if u.scoped && a.status < 300 && (strings.Contains(a.body, camB) || strings.Contains(a.body, siteB)) {
		t.Errorf("%s: a caller limited to %s sees site B's things: %.300s", what, siteA, a.body)
	}
	if rt.showsB != "" && allowed && !u.scoped && !strings.Contains(a.body, rt.showsB) {
		t.Errorf("%s: a caller of every site does not see %s: %.300s", what, rt.showsB, a.body)
	}
}

// checkCrossCamera asks for camera B's segment under camera A's path: a
// segment id is no way into another camera.
func (f *idorFixture) checkCrossCamera(t *testing.T, ctx context.Context, u *idorUser) {
	t.Helper()
	path := fmt.Sprintf("%s/cameras/%s/segments/%d", v1, camA, f.segs[camB])
	a := f.th.call(t, ctx, "GET", path, "", u.cookie)
	want := 404
	if u.role != auth.RoleAdmin && u.role != auth.RoleOperator {
		want = 403
	}
	if a.status != want {
		t.Errorf("GET %s as %s: status %d, want %d: %.200s", path, u.label(), a.status, want, a.body)
	}
}

// checkFilters asks lists for site B's things by filter: a caller limited
// to site A gets nothing of them (and a caller of every site does, so the
// check bites).
func (f *idorFixture) checkFilters(t *testing.T, ctx context.Context, u *idorUser) {
	t.Helper()
	paths := []string{v1 + "/events?camera=" + camB, v1 + "/events?site=" + siteB}
	if u.role == auth.RoleAdmin || u.role == auth.RoleAuditor {
		paths = append(paths, v1+"/audit?camera="+camB, v1+"/audit?site="+siteB)
	}
	for _, path := range paths {
		if strings.HasPrefix(path, v1+"/audit") && !slices.Contains(f.th.h.api.Patterns(), "GET /api/v1/audit") {
			continue
		}
		a := f.th.call(t, ctx, "GET", path, "", u.cookie)
		allowed := u.role != auth.RoleAuditor || strings.HasPrefix(path, v1+"/audit")
		switch {
		case !allowed:
			if a.status != 403 {
				t.Errorf("GET %s as %s: status %d, want 403", path, u.label(), a.status)
			}
		case u.scoped:
			if a.status != 200 && a.status != 404 || strings.Contains(a.body, `"`+camB+`"`) || strings.Contains(a.body, `"`+siteB+`"`) {
				t.Errorf("GET %s as %s: status %d, shows site B: %.300s", path, u.label(), a.status, a.body)
			}
		case strings.HasPrefix(path, v1+"/events"):
			if a.status != 200 || !strings.Contains(a.body, `"`+camB+`"`) {
				t.Errorf("GET %s as %s: status %d, want site B's events: %.300s", path, u.label(), a.status, a.body)
			}
		}
	}
}

// checkOthersToken tries to revoke another user's token: 404, and the
// token still works.
func (f *idorFixture) checkOthersToken(t *testing.T, ctx context.Context, u *idorUser) {
	t.Helper()
	tok, err := f.th.h.auth.CreateToken(ctx, targetUser, f.next("victim-"), 0)
	if err != nil {
		t.Fatal(err)
	}
	a := f.th.call(t, ctx, "DELETE", v1+"/tokens/"+tok.ID, "", u.cookie)
	if a.status != 404 {
		t.Errorf("DELETE another user's token as %s: status %d, want 404: %.200s", u.label(), a.status, a.body)
	}
	if a := f.th.call(t, ctx, "GET", v1+"/me", "", "Bearer "+tok.Secret); a.status != 200 {
		t.Errorf("the other user's token stopped working after %s tried to revoke it: %d", u.label(), a.status)
	}
}

// checkUplink calls every gateway uplink route with u's session and with
// a token of u's: a user's credentials are never a gateway's (401, or 429
// once the address failed too often), even an admin's.
func (f *idorFixture) checkUplink(t *testing.T, ctx context.Context, u *idorUser) {
	t.Helper()
	tok, err := f.th.h.auth.CreateToken(ctx, u.name, f.next("uplink-"), 0)
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.Repeat("ab", 16)
	for _, rt := range []struct{ method, path string }{
		{"GET", uplink.PathConfig}, {"POST", uplink.PathStatus},
		{"GET", uplink.FragmentsPath(camA, origin)}, {"POST", uplink.FragmentsPath(camA, origin)},
	} {
		for _, cred := range []string{u.cookie, "Bearer " + tok.Secret} {
			if a := f.th.call(t, ctx, rt.method, rt.path, "{}", cred); a.status != 401 && a.status != 429 {
				t.Errorf("%s %s as %s: status %d, want 401 (or 429): %.200s", rt.method, rt.path, u.label(), a.status, a.body)
			}
		}
	}
}

// checkRTSPPublish tries to publish (ANNOUNCE, SETUP, RECORD) to cam with
// u's credentials: only an admin may (publishing replaces what everyone
// watches and records); anyone else gets 401.
func (f *idorFixture) checkRTSPPublish(t *testing.T, u *idorUser, cam string) {
	t.Helper()
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
	c := gortsplib.Client{}
	err := c.StartRecording("rtsp://"+u.name+":"+u.pw+"@"+f.th.rtsp+"/"+cam, desc)
	if err == nil {
		c.Close()
	}
	switch {
	case u.role == auth.RoleAdmin && err != nil:
		t.Errorf("RTSP RECORD %s as %s: %v, want accepted", cam, u.label(), err)
	case u.role != auth.RoleAdmin && (err == nil || !strings.Contains(err.Error(), "401")):
		t.Errorf("RTSP RECORD %s as %s: %v, want 401", cam, u.label(), err)
	}
}

// checkRTSP sends DESCRIBE for cam with u's credentials. Allowed and in
// scope: 200 with the stream's description; a role without live or a
// camera outside u's sites: 401, exactly like a camera that does not
// exist.
func (f *idorFixture) checkRTSP(t *testing.T, ctx context.Context, u *idorUser, cam string) {
	t.Helper()
	want := ""
	if u.role == auth.RoleAuditor || (u.scoped && cam == camB) {
		want = "401"
	}
	for _, c := range []struct{ cam, want string }{{cam, want}, {"idor-no-such-camera", "401"}} {
		cl := gortsplib.Client{Scheme: "rtsp", Host: f.th.rtsp}
		if err := cl.Start(); err != nil {
			t.Fatal(err)
		}
		u2, err := base.ParseURL("rtsp://" + u.name + ":" + u.pw + "@" + f.th.rtsp + "/" + c.cam)
		if err != nil {
			cl.Close()
			t.Fatal(err)
		}
		desc, _, err := cl.Describe(u2)
		cl.Close()
		switch {
		case c.want == "" && (err != nil || len(desc.Medias) == 0):
			t.Errorf("RTSP DESCRIBE %s as %s: %v, want the stream", c.cam, u.label(), err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("RTSP DESCRIBE %s as %s: %v, want %s", c.cam, u.label(), err, c.want)
		}
	}
}
