package gateways

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

const (
	testOrigin   = "0123456789abcdef0123456789abcdef"
	camPassword  = "cam-secret-pw"
	testRTSPBase = "rtsps://hub.example:8322/"
)

// errBadFragment stands for record.ErrBadFragment.
var errBadFragment = errors.New("bad fragment")

// upIndex is the real SQLite index plus LastImported and SetPendingGap
// kept in memory (stand-ins until internal/index has them), fed by
// fakeImporter.Flush.
type upIndex struct {
	*sqlite.Store
	mu      sync.Mutex
	stored  map[string][]uplink.Fragment // camera/origin -> durable fragments, in import order
	pending map[string]gapSet            // camera -> pending gap
	gapSets int                          // SetPendingGap calls
}

func (x *upIndex) LastImported(_ context.Context, camera, origin string) (uint64, time.Time, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	fs := x.stored[camera+"/"+origin]
	if len(fs) == 0 {
		return 0, time.Time{}, nil
	}
	f := fs[len(fs)-1]
	return f.Seq, f.Start.Add(f.Duration), nil
}

func (x *upIndex) SetPendingGap(_ context.Context, camera string, start, end time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.gapSets++
	if !start.Before(end) {
		delete(x.pending, camera)
		return nil
	}
	x.pending[camera] = gapSet{start: start, end: end}
	return nil
}

func (x *upIndex) storedSeqs(camera, origin string) []uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []uint64
	for _, f := range x.stored[camera+"/"+origin] {
		out = append(out, f.Seq)
	}
	return out
}

func (x *upIndex) gap(camera string) (gapSet, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	g, ok := x.pending[camera]
	return g, ok
}

// fakeImporter models record.Importer: duplicates skipped, data starting
// with "BAD" refused with errBadFragment, fragments durable (in upIndex)
// only after Flush.
type fakeImporter struct {
	x              *upIndex
	camera, origin string
	mu             sync.Mutex
	last           uint64
	buf            []uplink.Fragment
	closed         bool
	// gate, when set, receives each seq before Import returns, and Import
	// waits for release (to hold an upload open).
	gate    chan uint64
	release chan struct{}
}

func (f *fakeImporter) Import(ctx context.Context, fr uplink.Fragment) (bool, error) {
	f.mu.Lock()
	gate, release := f.gate, f.release
	f.mu.Unlock()
	if gate != nil {
		gate <- fr.Seq
		select {
		case <-release:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false, errors.New("importer closed")
	}
	if bytes.HasPrefix(fr.Data, []byte("BAD")) {
		return false, fmt.Errorf("fragment %d: moof: %w", fr.Seq, errBadFragment)
	}
	if fr.Seq <= f.last {
		return false, nil
	}
	fr.Data = bytes.Clone(fr.Data)
	f.buf = append(f.buf, fr)
	f.last = fr.Seq
	return true, nil
}

func (f *fakeImporter) Flush(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.camera + "/" + f.origin
	f.x.mu.Lock()
	f.x.stored[k] = append(f.x.stored[k], f.buf...)
	f.x.mu.Unlock()
	f.buf = nil
	return f.last, nil
}

func (f *fakeImporter) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

// upEnv is env with the uplink served on a loopback server and one
// enrolled gateway (gw-n, site north).
type upEnv struct {
	*env
	x    *upIndex
	srv  *httptest.Server
	prom *prometheus.Registry
	cred string
	u    *uplinkServer

	mu        sync.Mutex
	importers []*fakeImporter
	// gated makes new importers hold each Import until released.
	gated bool
	gate  chan uint64
	rel   chan struct{}
}

func newUpEnv(t *testing.T, cfg Config) *upEnv { return newUpEnvWith(t, cfg, nil) }

// newUpEnvWith is newUpEnv with the uplink's deps changed by with (when
// not nil) before Uplink is called.
func newUpEnvWith(t *testing.T, cfg Config, with func(*upEnv, *UplinkDeps)) *upEnv {
	t.Helper()
	e := &upEnv{env: newEnv(t, cfg), prom: prometheus.NewRegistry(),
		gate: make(chan uint64), rel: make(chan struct{})}
	e.x = &upIndex{Store: e.idx, stored: map[string][]uplink.Fragment{}, pending: map[string]gapSet{}}
	ctx := testutil.Context(t, 10*time.Second)
	for _, c := range []index.Camera{
		{ID: "cam-n1", Name: "North door", Site: "north", Source: "rtsp://admin:" + camPassword + "@10.0.0.5/s1", Transport: "tcp", Record: true},
		{ID: "cam-n2", Site: "north", Source: "rtsp://10.0.0.6/s1"},
		{ID: "cam-s1", Site: "south", Source: "rtsp://10.1.0.5/s1", Record: true},
	} {
		if _, err := e.idx.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	deps := UplinkDeps{
		Index: e.x,
		NewImporter: func(camera, origin string) Importer {
			e.mu.Lock()
			defer e.mu.Unlock()
			im := &fakeImporter{x: e.x, camera: camera, origin: origin}
			im.last, _, _ = e.x.LastImported(context.Background(), camera, origin)
			if e.gated {
				im.gate, im.release = e.gate, e.rel
			}
			e.importers = append(e.importers, im)
			return im
		},
		IsBadFragment: func(err error) bool { return errors.Is(err, errBadFragment) },
		RTSPBase:      func(*http.Request) string { return testRTSPBase },
		Registerer:    e.prom,
	}
	if with != nil {
		with(e, &deps)
	}
	h := e.reg.Uplink(deps)
	e.u = h.(*uplinkServer)
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.cred = e.enrollOK(t, e.create(t, "gw-n", "north")).Credential
	return e
}

// call sends a request to the uplink over loopback with cred (""
// : no Authorization header).
func (e *upEnv) call(t *testing.T, method, path, cred, ctype string, body io.Reader) answer {
	t.Helper()
	ctx := testutil.Context(t, 20*time.Second)
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: res.StatusCode, header: res.Header, body: b}
}

// upload posts a fragment stream of camera.
func (e *upEnv) upload(t *testing.T, camera string, stream []byte) answer {
	t.Helper()
	return e.call(t, "POST", uplink.FragmentsPath(camera, testOrigin), e.cred, uplink.ContentType, bytes.NewReader(stream))
}

// report posts a status report.
func (e *upEnv) report(t *testing.T, s uplink.Status) {
	t.Helper()
	if s.Origin == "" {
		s.Origin = testOrigin
	}
	a := e.call(t, "POST", uplink.PathStatus, e.cred, "application/json", body(s))
	if a.code != http.StatusNoContent {
		t.Fatalf("status report: %d %s", a.code, a.body)
	}
}

var fragT0 = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)

// frags returns fragments first..last, 1 s each from fragT0 + (seq-1) s.
func frags(first, last uint64) []uplink.Fragment {
	var out []uplink.Fragment
	for s := first; s <= last; s++ {
		out = append(out, uplink.Fragment{Seq: s, Init: []byte("ftyp+moov"),
			Data:  []byte(fmt.Sprintf("moof+mdat %d", s)),
			Start: fragT0.Add(time.Duration(s-1) * time.Second), Duration: time.Second, Key: s%2 == 1})
	}
	return out
}

func encodeFrags(t *testing.T, fs []uplink.Fragment) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := uplink.NewEncoder(&b)
	for _, f := range fs {
		if err := enc.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// progressOf decodes an upload answer's progress (the answer itself on
// 200, its "progress" member otherwise).
func progressOf(t *testing.T, a answer) uplink.Progress {
	t.Helper()
	if a.code == http.StatusOK {
		var p uplink.Progress
		a.decode(t, &p)
		return p
	}
	var ue uploadError
	a.decode(t, &ue)
	return ue.Progress
}
