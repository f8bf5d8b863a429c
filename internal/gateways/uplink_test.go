package gateways

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// TestUplinkAuth: every uplink route refuses a missing, garbage, wrong-kind
// or revoked credential with the same JSON 401, and the failures count
// per address (429 with Retry-After past the limit).
func TestUplinkAuth(t *testing.T) {
	e := newUpEnv(t, Config{EnrollBurst: 1 << 20})
	other := e.enrollOK(t, e.create(t, "gw-old", "north")).Credential
	if err := e.reg.Revoke(context.Background(), "gw-old"); err != nil {
		t.Fatal(err)
	}
	creds := []struct{ name, cred string }{
		{"none", ""},
		{"garbage", "xyz"},
		{"unknown credential", credPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"enrolment token", tokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"revoked", other},
		{"overlong", credPrefix + strings.Repeat("A", 1000)},
	}
	routes := []struct{ method, path string }{
		{"GET", uplink.PathConfig},
		{"POST", uplink.PathStatus},
		{"GET", uplink.FragmentsPath("cam-n1", testOrigin)},
		{"POST", uplink.FragmentsPath("cam-n1", testOrigin)},
		{"GET", "/api/v1/uplink/nothing"},
	}
	for _, c := range creds {
		for _, r := range routes {
			t.Run(c.name+" "+r.method+" "+r.path, func(t *testing.T) {
				a := e.call(t, r.method, r.path, c.cred, "", nil)
				if a.code != http.StatusUnauthorized {
					t.Fatalf("got %d %s, want 401", a.code, a.body)
				}
				if a.errCode(t) != "unauthorized" || !strings.Contains(string(a.body), "invalid or revoked gateway credential") {
					t.Fatalf("answer %s", a.body)
				}
			})
		}
	}
	if a := e.call(t, "GET", uplink.PathConfig, e.cred, "", nil); a.code != http.StatusOK {
		t.Fatalf("valid credential: %d %s", a.code, a.body)
	}
	a := e.call(t, "GET", uplink.PathConfig, "", "", nil)
	if a.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// the scheme is case-insensitive
	ctx := testutil.Context(t, 10*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+uplink.PathConfig, nil)
	req.Header.Set("Authorization", "bearer "+e.cred)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("lower-case scheme: %d", res.StatusCode)
	}
	// revocation takes effect at once
	if err := e.reg.Revoke(context.Background(), "gw-n"); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, "GET", uplink.PathConfig, e.cred, "", nil); a.code != http.StatusUnauthorized {
		t.Fatalf("revoked credential: %d %s", a.code, a.body)
	}
	if logs := e.logs.String(); strings.Contains(logs, e.cred) || strings.Contains(logs, other) {
		t.Fatal("a credential reached the logs")
	}
}

func TestUplinkAuthLimit(t *testing.T) {
	e := newUpEnv(t, Config{EnrollBurst: 3})
	for i := range 3 {
		if a := e.call(t, "GET", uplink.PathConfig, "vgc_wrong", "", nil); a.code != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i, a.code)
		}
	}
	a := e.call(t, "GET", uplink.PathConfig, "vgc_wrong", "", nil)
	if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d %v %s", a.code, a.header, a.body)
	}
	a.errCode(t)
	e.clock.Add(time.Minute) // credit refills
	if a := e.call(t, "GET", uplink.PathConfig, e.cred, "", nil); a.code != http.StatusOK {
		t.Fatalf("after the window: %d %s", a.code, a.body)
	}
}

// TestUplinkConfig: the gateway gets its own site's cameras with their
// full sources, the RTSP base, and nothing of other sites; the answer is
// not cached and its secrets are not logged.
func TestUplinkConfig(t *testing.T) {
	e := newUpEnv(t, Config{})
	a := e.call(t, "GET", uplink.PathConfig, e.cred, "", nil)
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	var c uplink.Config
	a.decode(t, &c)
	want := uplink.Config{Gateway: "gw-n", Site: "north", RTSP: testRTSPBase, Cameras: []uplink.Camera{
		{ID: "cam-n1", Name: "North door", Source: "rtsp://admin:" + camPassword + "@10.0.0.5/s1", Transport: "tcp", Record: true},
		{ID: "cam-n2", Source: "rtsp://10.0.0.6/s1"},
	}}
	if c.Gateway != want.Gateway || c.Site != want.Site || c.RTSP != want.RTSP || !slices.Equal(c.Cameras, want.Cameras) {
		t.Fatalf("config\n got %+v\nwant %+v", c, want)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
	}
	if strings.Contains(e.logs.String(), camPassword) {
		t.Error("a camera password reached the logs")
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", uplink.PathConfig, http.StatusMethodNotAllowed},
		{"GET", uplink.PathStatus, http.StatusMethodNotAllowed},
		{"PUT", uplink.FragmentsPath("cam-n1", testOrigin), http.StatusMethodNotAllowed},
		{"GET", "/api/v1/uplink/cameras/cam-n1", http.StatusNotFound},
	} {
		a := e.call(t, tc.method, tc.path, e.cred, "", nil)
		if a.code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, a.code, a.body, tc.want)
		}
		a.errCode(t)
	}
}

// TestUplinkUpload: a stream is stored and acknowledged; its progress is
// what GET answers; sending the same seqs again (and more) stores each
// fragment once.
func TestUplinkUpload(t *testing.T) {
	e := newUpEnv(t, Config{})
	get := func() uplink.Progress {
		a := e.call(t, "GET", uplink.FragmentsPath("cam-n1", testOrigin), e.cred, "", nil)
		if a.code != http.StatusOK {
			t.Fatalf("GET progress: %d %s", a.code, a.body)
		}
		return progressOf(t, a)
	}
	if p := get(); p != (uplink.Progress{Camera: "cam-n1", Origin: testOrigin}) {
		t.Fatalf("progress before any upload: %+v", p)
	}
	a := e.upload(t, "cam-n1", encodeFrags(t, frags(1, 5)))
	want := uplink.Progress{Camera: "cam-n1", Origin: testOrigin, LastSeq: 5, End: fragT0.Add(5 * time.Second)}
	if a.code != http.StatusOK || progressOf(t, a) != want {
		t.Fatalf("upload: %d %s, want %+v", a.code, a.body, want)
	}
	if p := get(); p != want {
		t.Fatalf("GET progress %+v, want %+v", p, want)
	}
	// the same again, then overlapping
	for _, fs := range [][]uint64{{1, 5}, {3, 7}} {
		if a := e.upload(t, "cam-n1", encodeFrags(t, frags(fs[0], fs[1]))); a.code != http.StatusOK {
			t.Fatalf("re-upload: %d %s", a.code, a.body)
		}
	}
	if got := e.x.storedSeqs("cam-n1", testOrigin); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("stored seqs %v", got)
	}
	if p := get(); p.LastSeq != 7 {
		t.Fatalf("progress %+v", p)
	}
	// an empty stream is fine: it answers the progress
	if a := e.upload(t, "cam-n1", nil); a.code != http.StatusOK || progressOf(t, a).LastSeq != 7 {
		t.Fatalf("empty upload: %d %s", a.code, a.body)
	}
}

// TestUplinkUploadRefused: refusals name their reason; a stream damaged
// after some good fragments keeps those (and only those) and the answer's
// progress says so.
func TestUplinkUploadRefused(t *testing.T) {
	good := func(t *testing.T) []byte { return encodeFrags(t, frags(1, 4)) }
	tests := []struct {
		name, camera, origin, ctype string
		stream                      func(t *testing.T) []byte
		code                        int
		msg                         string
		stored                      []uint64
	}{
		{name: "other site's camera", camera: "cam-s1", stream: good, code: http.StatusForbidden,
			msg: "camera cam-s1 is not at this gateway's site"},
		{name: "unknown camera", camera: "cam-x", stream: good, code: http.StatusNotFound, msg: "camera not found"},
		{name: "no origin", origin: "-", stream: good, code: http.StatusBadRequest, msg: "origin"},
		{name: "upper-case origin", origin: strings.ToUpper(testOrigin), stream: good, code: http.StatusBadRequest, msg: "origin"},
		{name: "short origin", origin: testOrigin[:31], stream: good, code: http.StatusBadRequest, msg: "origin"},
		{name: "wrong content type", ctype: "application/json", stream: good, code: http.StatusUnsupportedMediaType, msg: uplink.ContentType},
		{name: "bad magic", stream: func(*testing.T) []byte { return []byte("NOTVIGIL and more") },
			code: http.StatusBadRequest, msg: "magic"},
		{name: "truncated", stream: func(t *testing.T) []byte { b := good(t); return b[:len(b)-3] },
			code: http.StatusBadRequest, msg: "bad fragment stream", stored: []uint64{1, 2, 3}},
		{name: "corrupted", stream: func(t *testing.T) []byte {
			b := good(t)
			i := bytes.Index(b, []byte("moof+mdat 3"))
			b[i+3] ^= 0xff
			return b
		}, code: http.StatusBadRequest, msg: "checksum", stored: []uint64{1, 2}},
		{name: "bad fragment", stream: func(t *testing.T) []byte {
			fs := frags(1, 4)
			fs[2].Data = []byte("BAD moof")
			return encodeFrags(t, fs)
		}, code: http.StatusBadRequest, msg: "fragment 3", stored: []uint64{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newUpEnv(t, Config{})
			camera, origin, ctype := cmp(tc.camera, "cam-n1"), cmp(tc.origin, testOrigin), cmp(tc.ctype, uplink.ContentType)
			path := uplink.FragmentsPath(camera, origin)
			if origin == "-" {
				path = strings.TrimSuffix(path, "?origin=-")
			}
			a := e.call(t, "POST", path, e.cred, ctype, bytes.NewReader(tc.stream(t)))
			if a.code != tc.code || !strings.Contains(string(a.body), tc.msg) {
				t.Fatalf("got %d %s, want %d with %q", a.code, a.body, tc.code, tc.msg)
			}
			if code := a.errCode(t); tc.code == http.StatusBadRequest && code != "bad_request" {
				t.Fatalf("code %q", code)
			}
			got := e.x.storedSeqs(camera, origin)
			if !slices.Equal(got, tc.stored) {
				t.Fatalf("stored %v, want %v", got, tc.stored)
			}
			if tc.stored != nil {
				p := progressOf(t, a)
				last := tc.stored[len(tc.stored)-1]
				want := uplink.Progress{Camera: camera, Origin: origin, LastSeq: last, End: fragT0.Add(time.Duration(last) * time.Second)}
				if p != want {
					t.Fatalf("progress %+v, want %+v", p, want)
				}
			}
		})
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestUplinkUploadTooLarge: past MaxUpload the upload stops with 413 and
// what arrived before the cut is kept and acknowledged.
func TestUplinkUploadTooLarge(t *testing.T) {
	e := newUpEnv(t, Config{})
	stream := encodeFrags(t, frags(1, 6))
	e.reg.cfg.MaxUpload = int64(len(encodeFrags(t, frags(1, 3))) + 5)
	a := e.upload(t, "cam-n1", stream)
	if a.code != http.StatusRequestEntityTooLarge || a.errCode(t) != "too_large" {
		t.Fatalf("%d %s", a.code, a.body)
	}
	if p := progressOf(t, a); p.LastSeq != 3 {
		t.Fatalf("progress %+v", p)
	}
}

// TestUplinkConcurrentUpload: a second upload of a camera while one runs
// is refused with 409; another camera is not blocked; once the first ends
// the camera takes uploads again.
func TestUplinkConcurrentUpload(t *testing.T) {
	e := newUpEnv(t, Config{})
	e.mu.Lock()
	e.gated = true
	e.mu.Unlock()
	first := make(chan answer, 1)
	stream := encodeFrags(t, frags(1, 2))
	ctx := testutil.Context(t, 20*time.Second)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+uplink.FragmentsPath("cam-n1", testOrigin),
			bytes.NewReader(stream))
		req.Header.Set("Authorization", "Bearer "+e.cred)
		req.Header.Set("Content-Type", uplink.ContentType)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			first <- answer{}
			return
		}
		defer func() { _ = res.Body.Close() }()
		b, _ := io.ReadAll(res.Body)
		first <- answer{code: res.StatusCode, body: b}
	}()
	select {
	case seq := <-e.gate: // the first upload is inside Import
		if seq != 1 {
			t.Fatalf("first import seq %d", seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first upload never reached the importer")
	}
	a := e.upload(t, "cam-n1", encodeFrags(t, frags(1, 2)))
	if a.code != http.StatusConflict || a.errCode(t) != "conflict" {
		t.Fatalf("second upload: %d %s", a.code, a.body)
	}
	// GET progress is not blocked by the upload
	if a := e.call(t, "GET", uplink.FragmentsPath("cam-n1", testOrigin), e.cred, "", nil); a.code != http.StatusOK {
		t.Fatalf("GET during upload: %d", a.code)
	}
	e.rel <- struct{}{}
	if seq := <-e.gate; seq != 2 {
		t.Fatalf("second import seq %d", seq)
	}
	e.rel <- struct{}{}
	if a := <-first; a.code != http.StatusOK || progressOf(t, a).LastSeq != 2 {
		t.Fatalf("first upload: %d %s", a.code, a.body)
	}
	e.mu.Lock()
	e.gated = false
	im := e.importers[0]
	e.mu.Unlock()
	im.mu.Lock()
	im.gate = nil
	im.mu.Unlock()
	if a := e.upload(t, "cam-n1", encodeFrags(t, frags(3, 3))); a.code != http.StatusOK || progressOf(t, a).LastSeq != 3 {
		t.Fatalf("upload after: %d %s", a.code, a.body)
	}
}

// TestUplinkImporterReuse: one importer per (camera, origin) while in
// use; closed after a minute idle (by the periodic check) and when Run
// ends.
func TestUplinkImporterReuse(t *testing.T) {
	e := newUpEnv(t, Config{})
	ctx := testutil.Context(t, 10*time.Second)
	for _, r := range [][]uint64{{1, 2}, {3, 4}} {
		if a := e.upload(t, "cam-n1", encodeFrags(t, frags(r[0], r[1]))); a.code != http.StatusOK {
			t.Fatalf("%d %s", a.code, a.body)
		}
	}
	e.mu.Lock()
	n := len(e.importers)
	im := e.importers[0]
	e.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d importers for one camera and origin", n)
	}
	e.clock.Add(30 * time.Second)
	e.u.check(ctx)
	if im.closed {
		t.Fatal("importer closed after 30 s idle")
	}
	e.clock.Add(31 * time.Second)
	e.u.check(ctx)
	if !im.closed {
		t.Fatal("importer still open after 61 s idle")
	}
	if a := e.upload(t, "cam-n1", encodeFrags(t, frags(5, 5))); a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	e.mu.Lock()
	im2 := e.importers[len(e.importers)-1]
	e.mu.Unlock()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.reg.Run(runCtx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if !im2.closed {
		t.Fatal("Run ended with an idle importer open")
	}
	if got := e.x.storedSeqs("cam-n1", testOrigin); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("stored %v", got)
	}
}

// TestUplinkPendingGap: a backlog shows as the camera's pending gap from
// the backlog's start (nothing stored) or the stored end, cleared once
// the backlog is empty; cameras of other sites are ignored.
func TestUplinkPendingGap(t *testing.T) {
	e := newUpEnv(t, Config{})
	backlog := func(id string, n int, start, end time.Time) uplink.CameraStatus {
		return uplink.CameraStatus{ID: id, Online: true, Backlog: uplink.Backlog{Fragments: n, Bytes: int64(n) * 1000, Start: start, End: end}}
	}
	end := fragT0.Add(60 * time.Second)
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{
		backlog("cam-n1", 60, fragT0, end),
		backlog("cam-s1", 60, fragT0, end), // not at gw-n's site
		backlog("cam-zz", 60, fragT0, end), // unknown
	}})
	if g, ok := e.x.gap("cam-n1"); !ok || !g.start.Equal(fragT0) || !g.end.Equal(end) {
		t.Fatalf("pending gap %+v %v, want [%v, %v)", g, ok, fragT0, end)
	}
	for _, c := range []string{"cam-s1", "cam-zz"} {
		if _, ok := e.x.gap(c); ok {
			t.Fatalf("%s (not at the site) got a pending gap", c)
		}
	}
	// part uploaded: the gap starts at the stored end
	if a := e.upload(t, "cam-n1", encodeFrags(t, frags(1, 10))); a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{backlog("cam-n1", 60, fragT0, end)}})
	if g, _ := e.x.gap("cam-n1"); !g.start.Equal(fragT0.Add(10*time.Second)) || !g.end.Equal(end) {
		t.Fatalf("pending gap after upload %+v", g)
	}
	// an unchanged report does not write again
	e.x.mu.Lock()
	calls := e.x.gapSets
	e.x.mu.Unlock()
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{backlog("cam-n1", 60, fragT0, end)}})
	e.x.mu.Lock()
	again := e.x.gapSets
	e.x.mu.Unlock()
	if again != calls {
		t.Errorf("unchanged report wrote the pending gap again (%d -> %d)", calls, again)
	}
	// everything acknowledged: cleared
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{backlog("cam-n1", 0, time.Time{}, time.Time{})}})
	if g, ok := e.x.gap("cam-n1"); ok {
		t.Fatalf("pending gap not cleared: %+v", g)
	}
	if n := strings.Count(e.logs.String(), "not at its site"); n != 2 {
		t.Errorf("foreign cameras logged %d times, want once each (2)", n)
	}
	// a revoked gateway's pending gaps go: that footage will not arrive
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{backlog("cam-n1", 60, fragT0, end)}})
	if _, ok := e.x.gap("cam-n1"); !ok {
		t.Fatal("no pending gap")
	}
	if err := e.reg.Revoke(context.Background(), "gw-n"); err != nil {
		t.Fatal(err)
	}
	e.u.check(context.Background())
	if g, ok := e.x.gap("cam-n1"); ok {
		t.Fatalf("pending gap of a revoked gateway left: %+v", g)
	}
	// refusals (by a live gateway)
	e.cred = e.enrollOK(t, e.create(t, "gw-n2", "north")).Credential
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"not json", "{", http.StatusBadRequest},
		{"bad origin", `{"origin":"XYZ"}`, http.StatusBadRequest},
		{"over 1 MiB", `{"cameras":[` + strings.Repeat(`{"id":"x"},`, 1<<17) + `{}]}`, http.StatusRequestEntityTooLarge},
	} {
		a := e.call(t, "POST", uplink.PathStatus, e.cred, "application/json", strings.NewReader(tc.body))
		if a.code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, a.code, a.body, tc.want)
		}
	}
}

// gwAnswer is a gateway in API answers, with its status.
type gwAnswer struct {
	ID     string
	Status statusJSON
}

// TestGatewayStatusInAPI: the admin API shows what the gateway reported
// and what the hub received; the gateway goes offline after OfflineAfter.
func TestGatewayStatusInAPI(t *testing.T) {
	e := newUpEnv(t, Config{})
	e.create(t, "gw-s", "south")
	now := e.clock.Now()
	oldest := now.Add(-90 * time.Second)
	stream := encodeFrags(t, frags(1, 3))
	if a := e.upload(t, "cam-n1", stream); a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	e.report(t, uplink.Status{Time: now, UplinkBPS: 250000, RateCapBPS: 500000,
		Spool: uplink.Spool{Bytes: 7 << 20, Quota: 1 << 30, Fragments: 12, OldestPending: oldest, Dropped: 4},
		Cameras: []uplink.CameraStatus{
			{ID: "cam-n1", Online: true, Live: true, Backlog: uplink.Backlog{Fragments: 10, Bytes: 5000, Start: oldest, End: now}},
			{ID: "cam-n2", Online: true, Backlog: uplink.Backlog{Fragments: 2, Bytes: 700, Start: oldest, End: now}},
			{ID: "cam-s1", Online: true, Live: true, Backlog: uplink.Backlog{Fragments: 99, Bytes: 99}},
		}})
	a := e.do(t, "GET", "/api/v1/gateways/gw-n", "root", nil)
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	var g gwAnswer
	a.decode(t, &g)
	want := statusJSON{Online: true, LastSeen: fmtTime(now), UplinkBPS: 250000,
		ReceivedBPS: float64(len(stream)) / rateWindow, RateCapBPS: 500000,
		BacklogBytes: 5700, BacklogFragments: 12, BacklogSeconds: 90, OldestPending: fmtTime(oldest),
		SpoolBytes: 7 << 20, SpoolQuota: 1 << 30, DroppedFragments: 4, Cameras: 2, CamerasOnline: 2, CamerasLive: 1}
	if g.Status != want {
		t.Fatalf("status\n got %+v\nwant %+v", g.Status, want)
	}
	// the list carries it too, and the site filter holds
	var list struct{ Gateways []gwAnswer }
	e.do(t, "GET", "/api/v1/gateways?site=north", "op", nil).decode(t, &list)
	if len(list.Gateways) != 1 || list.Gateways[0].ID != "gw-n" || list.Gateways[0].Status != want {
		t.Fatalf("list %+v", list)
	}
	e.do(t, "GET", "/api/v1/gateways?site=south", "root", nil).decode(t, &list)
	if len(list.Gateways) != 1 || list.Gateways[0].ID != "gw-s" || list.Gateways[0].Status != (statusJSON{}) {
		t.Fatalf("south list %+v", list)
	}
	// 11 s later: offline, received rate back to 0, backlog older
	e.clock.Add(11 * time.Second)
	e.do(t, "GET", "/api/v1/gateways/gw-n", "root", nil).decode(t, &g)
	if g.Status.Online || g.Status.ReceivedBPS != 0 || g.Status.BacklogSeconds != 101 || g.Status.LastSeen != fmtTime(now) {
		t.Fatalf("status after 11 s %+v", g.Status)
	}
}

// TestGatewayEvents: site_offline opens when reports stop for longer than
// OfflineAfter (starting at the last report) and ends at the next report;
// backlog_high opens past BacklogHigh and ends under half of it.
func TestGatewayEvents(t *testing.T) {
	e := newUpEnv(t, Config{})
	ctx := testutil.Context(t, 10*time.Second)
	events := func() []index.Event {
		p, err := e.idx.ListEvents(ctx, index.EventFilter{Site: "north"})
		if err != nil {
			t.Fatal(err)
		}
		return p.Events
	}
	t0 := e.clock.Now()
	e.report(t, uplink.Status{})
	e.clock.Add(10 * time.Second) // exactly the threshold: still online
	e.u.check(ctx)
	if ev := events(); len(ev) != 0 {
		t.Fatalf("events at the threshold: %+v", ev)
	}
	e.clock.Add(5 * time.Second)
	e.u.check(ctx)
	e.u.check(ctx) // a second check opens nothing more
	ev := events()
	if len(ev) != 1 || ev[0].Type != "site_offline" || !ev[0].Start.Equal(t0) || !ev[0].End.IsZero() ||
		!strings.Contains(ev[0].Data, `"gateway":"gw-n"`) || ev[0].Camera != "" {
		t.Fatalf("events after 15 s silent: %+v", ev)
	}
	back := e.clock.Now()
	e.report(t, uplink.Status{})
	ev = events()
	if len(ev) != 1 || !ev[0].End.Equal(back) {
		t.Fatalf("site_offline not ended by the report: %+v", ev)
	}

	// backlog_high
	report := func(age time.Duration) {
		e.report(t, uplink.Status{Spool: uplink.Spool{Fragments: 1, OldestPending: e.clock.Now().Add(-age)}})
		e.u.check(ctx)
	}
	report(4 * time.Minute)
	if ev := events(); len(ev) != 1 {
		t.Fatalf("backlog under the threshold opened an event: %+v", ev)
	}
	report(6 * time.Minute)
	ev = events()
	if len(ev) != 2 || ev[0].Type != "backlog_high" || !ev[0].End.IsZero() {
		t.Fatalf("backlog_high not opened: %+v", ev)
	}
	report(3 * time.Minute) // above half the threshold: stays open
	if ev := events(); !ev[0].End.IsZero() {
		t.Fatalf("backlog_high ended above half the threshold: %+v", ev[0])
	}
	report(2 * time.Minute)
	if ev := events(); ev[0].Type != "backlog_high" || !ev[0].End.Equal(e.clock.Now()) {
		t.Fatalf("backlog_high not ended: %+v", ev)
	}

	// a revoked gateway is forgotten: no site_offline for it
	if err := e.reg.Revoke(ctx, "gw-n"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	e.u.check(ctx)
	if ev := events(); len(ev) != 2 {
		t.Fatalf("events after revocation: %+v", ev)
	}
}

// TestUplinkStalledUpload: an upload that stops sending is dropped after
// the idle time, keeping what arrived, and the camera takes uploads again.
func TestUplinkStalledUpload(t *testing.T) {
	e := newUpEnv(t, Config{})
	e.u.uploadIdle = 300 * time.Millisecond
	stream := encodeFrags(t, frags(1, 3))
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	head := "POST " + uplink.FragmentsPath("cam-n1", testOrigin) + " HTTP/1.1\r\nHost: hub\r\n" +
		"Authorization: Bearer " + e.cred + "\r\nContent-Type: " + uplink.ContentType + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(stream)+1000) + "\r\n\r\n"
	if _, err := conn.Write(append([]byte(head), stream...)); err != nil {
		t.Fatal(err)
	}
	// then nothing: the hub must give up and answer (or close)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("stalled upload answered %d %s", res.StatusCode, b)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the hub kept a stalled upload open")
	}
	if got := e.x.storedSeqs("cam-n1", testOrigin); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("stored %v", got)
	}
	if a := e.upload(t, "cam-n1", encodeFrags(t, frags(4, 4))); a.code != http.StatusOK || progressOf(t, a).LastSeq != 4 {
		t.Fatalf("upload after the stall: %d %s", a.code, a.body)
	}
}

// TestUplinkPendingWhileOffline: while a gateway sends no reports, its
// site keeps recording what the hub does not get: its cameras' pending
// gaps run on to now (every pendingStep), from where the hub's footage
// ends; the next report sets them to what the gateway holds.
func TestUplinkPendingWhileOffline(t *testing.T) {
	e := newUpEnv(t, Config{})
	ctx := testutil.Context(t, 10*time.Second)
	if a := e.upload(t, "cam-n1", encodeFrags(t, frags(1, 10))); a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	stored := fragT0.Add(10 * time.Second)
	// the last report: nothing held back
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{{ID: "cam-n1", Online: true}}})
	if _, ok := e.x.gap("cam-n1"); ok {
		t.Fatal("pending gap without a backlog")
	}
	e.clock.Add(11 * time.Second) // past OfflineAfter (10 s)
	e.u.check(ctx)
	now := e.clock.Now()
	if g, ok := e.x.gap("cam-n1"); !ok || !g.start.Equal(stored) || !g.end.Equal(now) {
		t.Fatalf("offline: pending gap %+v %v, want [%v, %v)", g, ok, stored, now)
	}
	e.clock.Add(2 * time.Second) // within pendingStep: not written again
	e.u.check(ctx)
	if g, _ := e.x.gap("cam-n1"); !g.end.Equal(now) {
		t.Fatalf("pending gap moved within pendingStep: %+v", g)
	}
	e.clock.Add(pendingStep)
	e.u.check(ctx)
	if g, _ := e.x.gap("cam-n1"); !g.start.Equal(stored) || !g.end.Equal(e.clock.Now()) {
		t.Fatalf("pending gap not moved on to now: %+v", g)
	}
	// back: the report says what the gateway holds
	end := stored.Add(30 * time.Second)
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{{ID: "cam-n1", Online: true,
		Backlog: uplink.Backlog{Fragments: 30, Bytes: 30000, Start: stored, End: end}}}})
	if g, _ := e.x.gap("cam-n1"); !g.start.Equal(stored) || !g.end.Equal(end) {
		t.Fatalf("after the report: pending gap %+v, want [%v, %v)", g, stored, end)
	}
}
