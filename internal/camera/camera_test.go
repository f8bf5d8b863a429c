package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

type fakeIndex struct {
	mu      sync.Mutex
	cams    []index.Camera
	events  []index.Event
	ended   []int64
	batches int
}

func (f *fakeIndex) ListCameras(context.Context) ([]index.Camera, error) { return f.cams, nil }
func (f *fakeIndex) Segments(context.Context, string, time.Time, time.Time) ([]index.Segment, error) {
	return nil, nil
}

// WriteEvents records the batch; an event added already ended (an outage
// that began and ended within one batch) counts as ended.
func (f *fakeIndex) WriteEvents(_ context.Context, ends []index.EventEnd, adds []index.Event) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches++
	for _, e := range ends {
		f.ended = append(f.ended, e.ID)
	}
	var ids []int64
	for _, e := range adds {
		f.events = append(f.events, e)
		id := int64(len(f.events))
		ids = append(ids, id)
		if !e.End.IsZero() {
			f.ended = append(f.ended, id)
		}
	}
	return ids, nil
}

func (f *fakeIndex) types() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Type)
	}
	return out
}

// fakeSource publishes one session, then fails with errGone.
type fakeSource struct {
	st    *stream.Stream
	runs  *atomic.Int32
	hold  time.Duration
	fails bool
}

var errGone = errors.New("camera went away")

func (s fakeSource) Run(ctx context.Context) error {
	s.runs.Add(1)
	p := s.st.Publish([]media.Track{{Codec: media.CodecH264, ClockRate: 90000}})
	defer p.Close()
	p.Write(&media.AccessUnit{Key: true, Payload: []byte{1}})
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(s.hold):
	}
	if s.fails {
		return errGone
	}
	<-ctx.Done()
	return nil
}

func newManager(t *testing.T, idx *fakeIndex, hold time.Duration, fails bool) (*Manager, *atomic.Int32, func()) {
	t.Helper()
	runs := &atomic.Int32{}
	m := New(Deps{
		Index: idx, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff: supervise.Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond},
		Sources: func(_ index.Camera, st *stream.Stream, _ *slog.Logger) Runner {
			return fakeSource{st: st, runs: runs, hold: hold, fails: fails}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return m, runs, func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestManagerStartsChangesAndRemoves(t *testing.T) {
	idx := &fakeIndex{cams: []index.Camera{
		{ID: "pulled", Site: "s1", Source: "rtsp://h/x"},
		{ID: "pushed", Site: "s1"},
	}}
	m, runs, stop := newManager(t, idx, time.Hour, false)
	defer stop()
	waitFor(t, "pulled online", func() bool { return m.Status("pulled").State == StateOnline })
	if s := m.Status("pushed"); s.State != StateWaiting {
		t.Fatalf("pushed camera %+v", s)
	}
	if _, err := m.PushStream("pulled"); !errors.Is(err, ErrPulled) {
		t.Fatalf("push to a pulled camera: %v", err)
	}
	if _, err := m.PushStream("nope"); !errors.Is(err, ErrUnknownCamera) {
		t.Fatalf("push to an unknown camera: %v", err)
	}
	if st, err := m.PushStream("pushed"); err != nil || st == nil {
		t.Fatalf("push stream: %v", err)
	}
	// A rename does not restart the source; a new source does.
	m.CameraChanged(context.Background(), index.Camera{ID: "pulled", Name: "x", Site: "s1", Source: "rtsp://h/x"})
	if runs.Load() != 1 {
		t.Fatalf("rename restarted the source (%d runs)", runs.Load())
	}
	m.CameraChanged(context.Background(), index.Camera{ID: "pulled", Site: "s1", Source: "rtsp://h/y"})
	waitFor(t, "restart", func() bool { return runs.Load() == 2 })
	if site, ok := m.Site("pulled"); !ok || site != "s1" {
		t.Fatalf("site %q %v", site, ok)
	}
	m.CameraRemoved(context.Background(), "pulled")
	if m.Status("pulled").State != StateUnknown {
		t.Fatal("removed camera still running")
	}
	if len(m.IDs()) != 1 {
		t.Fatalf("ids %v", m.IDs())
	}
}

func TestManagerReconnectsAndReportsEvents(t *testing.T) {
	idx := &fakeIndex{cams: []index.Camera{{ID: "flaky", Source: "rtsp://h/x"}}}
	m, runs, stop := newManager(t, idx, 20*time.Millisecond, true)
	waitFor(t, "reconnects", func() bool { return runs.Load() >= 3 })
	waitFor(t, "an error in the status", func() bool {
		s := m.Status("flaky")
		return s.State == StateOffline && s.Error == errGone.Error()
	})
	stop()
	types := idx.types()
	var on, off int
	for _, ty := range types {
		switch ty {
		case "camera_online":
			on++
		case "camera_offline":
			off++
		}
	}
	if on < 2 || off < 2 || len(idx.ended) < 1 {
		t.Fatalf("events %v, ended %v", types, idx.ended)
	}
}

// TestRemoteSites: a camera at a site with a gateway is not pulled by the
// hub and accepts the gateway's push; when the site loses its gateway the
// hub pulls it again. Cameras of other sites are untouched.
func TestRemoteSites(t *testing.T) {
	idx := &fakeIndex{cams: []index.Camera{
		{ID: "gate", Site: "north", Source: "rtsp://site-local/gate"},
		{ID: "lobby", Site: "south", Source: "rtsp://h/lobby"},
	}}
	m, runs, stop := newManager(t, idx, time.Hour, false)
	defer stop()
	waitFor(t, "both pulled", func() bool { return runs.Load() == 2 })
	m.SetRemoteSites(map[string]bool{"north": true})
	if !m.Remote("gate") || m.Remote("lobby") {
		t.Fatalf("remote: gate %v, lobby %v", m.Remote("gate"), m.Remote("lobby"))
	}
	if st, err := m.PushStream("gate"); err != nil || st == nil {
		t.Fatalf("gateway push to a remote camera: %v", err)
	}
	if _, err := m.PushStream("lobby"); !errors.Is(err, ErrPulled) {
		t.Fatalf("push to a pulled camera: %v", err)
	}
	if s := m.Status("gate"); s.State != StateOffline || s.Error == "" {
		t.Fatalf("remote camera without a push: %+v, want offline with why", s)
	}
	time.Sleep(50 * time.Millisecond) // a source wrongly restarted would have run by now
	if runs.Load() != 2 {
		t.Fatalf("%d source runs, want 2 (no hub pull of a remote camera, lobby untouched)", runs.Load())
	}
	m.SetRemoteSites(nil)
	waitFor(t, "gate pulled again", func() bool { return runs.Load() == 3 && m.Status("gate").State == StateOnline })
	if m.Remote("gate") {
		t.Fatal("still remote")
	}
}

// TestStatusEventsBatched: status changes queued together are written in
// one call, and an outage that begins and ends within the batch is stored
// as an ended offline event followed by an online one.
func TestStatusEventsBatched(t *testing.T) {
	idx := &fakeIndex{}
	m := New(Deps{Index: idx, Log: slog.New(slog.DiscardHandler)})
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var ops []eventOp
	for i := range 300 {
		ops = append(ops, eventOp{camera: fmt.Sprintf("cam%d", i), online: true, at: at})
	}
	ops = append(ops, eventOp{camera: "cam7", online: false, at: at.Add(time.Second)},
		eventOp{camera: "cam7", online: true, at: at.Add(3 * time.Second)},
		eventOp{camera: "cam8", online: false, at: at.Add(time.Second)})
	for _, op := range ops {
		m.events <- op
	}
	close(m.events)
	m.runEvents()
	if idx.batches != 1 {
		t.Fatalf("%d batches, want 1", idx.batches)
	}
	if len(idx.events) != 303 {
		t.Fatalf("%d events stored, want 303", len(idx.events))
	}
	off7 := idx.events[300]
	if off7.Camera != "cam7" || off7.Type != "camera_offline" || !off7.End.Equal(at.Add(3*time.Second)) {
		t.Errorf("cam7's outage: %+v", off7)
	}
	if off8 := idx.events[302]; off8.Camera != "cam8" || off8.Type != "camera_offline" || !off8.End.IsZero() {
		t.Errorf("cam8's outage: %+v", off8)
	}
	// cam8 comes back in a later batch: its stored offline event is ended
	open := map[string]int64{"cam8": 303}
	m.writeEvents([]eventOp{{camera: "cam8", online: true, at: at.Add(5 * time.Second)}}, open)
	if len(idx.ended) != 2 || idx.ended[1] != 303 || len(open) != 0 {
		t.Errorf("ended %v, open %v", idx.ended, open)
	}
}
