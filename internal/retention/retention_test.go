package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-video/vigil/internal/blob"
	blobfs "github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a real SQLite index and file blob store under t.TempDir, with a
// fake clock.
type env struct {
	t      *testing.T
	idx    *sqlite.Store
	blobs  *blobfs.Store
	now    time.Time
	events *sink
	n      int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	idx, err := sqlite.Open(t.Context(), filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	blobs, err := blobfs.New(filepath.Join(dir, "rec"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, idx: idx, blobs: blobs, now: t0(), events: &sink{}}
}

// sink records events.
type sink struct {
	mu     sync.Mutex
	events []index.Event
}

func (s *sink) AddEvent(_ context.Context, e index.Event) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return int64(len(s.events)), nil
}

func (s *sink) list() []index.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]index.Event(nil), s.events...)
}

func (e *env) camera(id string, days int) {
	e.t.Helper()
	if _, err := e.idx.CreateCamera(e.t.Context(), index.Camera{ID: id, RetentionDays: days}); err != nil {
		e.t.Fatal(err)
	}
}

// record writes a file of size bytes and adds its one-minute segment,
// ending ago before the fake now.
func (e *env) record(camera string, ago time.Duration, size int, state index.SegmentState) index.Segment {
	e.t.Helper()
	e.n++
	end := e.now.Add(-ago)
	s := index.Segment{Camera: camera, Start: end.Add(-time.Minute), End: end, Bytes: int64(size),
		Path: fmt.Sprintf("%s/%04d.mp4", camera, e.n), State: state}
	w, err := e.blobs.Create(e.t.Context(), s.Path)
	if err == nil {
		_, err = w.Write(make([]byte, size))
		err = errors.Join(err, w.Close())
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if s.ID, err = e.idx.AddSegment(e.t.Context(), s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) fileExists(s index.Segment) bool {
	p, err := e.blobs.Path(s.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = os.Stat(p)
	return err == nil
}

// check asserts which segments remain, as rows and as files.
func (e *env) check(kept, gone []index.Segment) {
	e.t.Helper()
	for _, s := range kept {
		if _, err := e.idx.GetSegment(e.t.Context(), s.ID); err != nil || !e.fileExists(s) {
			e.t.Errorf("segment %d (%s) should remain: row err %v, file %v", s.ID, s.Path, err, e.fileExists(s))
		}
	}
	for _, s := range gone {
		_, err := e.idx.GetSegment(e.t.Context(), s.ID)
		if !errors.Is(err, index.ErrNotFound) || e.fileExists(s) {
			t := e.t
			t.Errorf("segment %d (%s) should be gone: row err %v, file %v", s.ID, s.Path, err, e.fileExists(s))
		}
	}
}

func (e *env) retention(cfg Config, mod func(*Deps)) *Retention {
	d := Deps{Index: e.idx, Blobs: e.blobs, Events: e.events, Now: func() time.Time { return e.now }}
	if mod != nil {
		mod(&d)
	}
	return New(cfg, d)
}

func (e *env) runOnce(r *Retention) {
	e.t.Helper()
	if err := r.RunOnce(e.t.Context()); err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
}

func TestTimeRetention(t *testing.T) {
	e := newEnv(t)
	e.camera("a", 1) // one day
	e.camera("b", 0) // hub default: three days
	e.camera("s", 1)
	c := index.SegmentClosed
	a1, a2 := e.record("a", 2*day, 10, c), e.record("a", 20*time.Hour, 10, c)
	b1, b2 := e.record("b", 4*day, 10, c), e.record("b", 2*day, 10, c)
	g1, g2 := e.record("gone", 5*day, 10, c), e.record("gone", day, 10, c) // camera deleted
	stale := e.record("s", 10*day, 10, index.SegmentOpen)                  // newest open: kept
	r := e.retention(Config{Retention: 3 * day}, nil)
	e.runOnce(r)
	e.check([]index.Segment{a2, b2, g2, stale}, []index.Segment{a1, b1, g1})
	if st := r.Stats(); st.DeletedSegments != 3 || st.DeletedBytes != 30 || st.EarlyDeletions != 0 || st.Passes != 1 {
		t.Errorf("stats = %+v", st)
	}
	if ev := e.events.list(); len(ev) != 0 {
		t.Errorf("events = %+v, want none without disk pressure", ev)
	}
}

func TestGapsAndEventsExpire(t *testing.T) {
	e := newEnv(t)
	e.camera("a", 1)
	e.camera("b", 0)
	ctx := t.Context()
	gap := func(camera string, ago time.Duration) int64 {
		id, err := e.idx.AddGap(ctx, index.Gap{Camera: camera, Start: e.now.Add(-ago - time.Minute), End: e.now.Add(-ago), State: index.GapLost})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	gap("a", 2*day)
	gap("b", 2*day)
	gap("gone", 5*day)
	for _, ago := range []time.Duration{4 * day, 2 * day} {
		if _, err := e.idx.AddEvent(ctx, index.Event{Type: "motion", Start: e.now.Add(-ago)}); err != nil {
			t.Fatal(err)
		}
	}
	e.runOnce(e.retention(Config{Retention: 3 * day}, nil))
	for cam, want := range map[string]int{"a": 0, "b": 1, "gone": 0} {
		gaps, err := e.idx.Gaps(ctx, cam, e.now.Add(-30*day), e.now)
		if err != nil || len(gaps) != want {
			t.Errorf("gaps of %s = %d (%v), want %d", cam, len(gaps), err, want)
		}
	}
	page, err := e.idx.ListEvents(ctx, index.EventFilter{})
	if err != nil || len(page.Events) != 1 {
		t.Errorf("events after expiry = %d (%v), want 1", len(page.Events), err)
	}
}

func TestKeepForeverKeepsGapsAndEvents(t *testing.T) {
	e := newEnv(t)
	old := e.record("a", 400*day, 10, index.SegmentClosed)
	if _, err := e.idx.AddEvent(t.Context(), index.Event{Type: "motion", Start: e.now.Add(-400 * day)}); err != nil {
		t.Fatal(err)
	}
	e.runOnce(e.retention(Config{}, nil))
	e.check([]index.Segment{old}, nil)
	page, err := e.idx.ListEvents(t.Context(), index.EventFilter{})
	if err != nil || len(page.Events) != 1 {
		t.Errorf("events = %d (%v), want 1", len(page.Events), err)
	}
}

// storageEvents decodes the storage events emitted so far.
func storageEvents(t *testing.T, s *sink) []storageEventData {
	t.Helper()
	var out []storageEventData
	for _, ev := range s.list() {
		if ev.Type != "storage" {
			t.Errorf("event type %q", ev.Type)
		}
		var d storageEventData
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestDiskQuota(t *testing.T) {
	tests := []struct {
		name      string
		closed    int    // closed segments of 1000 bytes, oldest first over three cameras
		maxBytes  uint64 // quota
		batch     int
		wantGone  int
		wantEvent bool
	}{
		{"below high", 12, 16000, 0, 0, false},
		{"above high", 12, 13000, 0, 3, true},         // 14000/13000 → below 11050
		{"full", 12, 12000, 0, 4, true},               // 14000/12000 → below 10200
		{"small batches", 12, 12000, 1, 4, true},      // same, one segment per batch
		{"open only cannot go", 0, 1000, 0, 0, false}, // 2000/1000, all open
		{"quota smaller than any footage", 12, 10, 0, 12, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var closed []index.Segment
			for i := range tt.closed {
				cam := []string{"a", "b", "c"}[i%3]
				closed = append(closed, e.record(cam, time.Duration(tt.closed-i)*time.Hour, 1000, index.SegmentClosed))
			}
			open := []index.Segment{e.record("a", 0, 1000, index.SegmentOpen), e.record("b", 0, 1000, index.SegmentOpen)}
			r := e.retention(Config{Retention: 30 * day, MaxBytes: tt.maxBytes, BatchSize: tt.batch}, nil)
			e.runOnce(r)
			e.check(append(closed[tt.wantGone:], open...), closed[:tt.wantGone])
			checkQuotaOutcome(t, e, r, tt.maxBytes, tt.wantGone, tt.wantEvent)
			e.runOnce(r) // a second pass finds nothing more to do
			if got := len(e.events.list()); got != len(storageEvents(t, e.events)) || (got == 1) != tt.wantEvent {
				t.Errorf("%d events after two passes", got)
			}
		})
	}
}

func checkQuotaOutcome(t *testing.T, e *env, r *Retention, maxBytes uint64, gone int, wantEvent bool) {
	t.Helper()
	evs := storageEvents(t, e.events)
	if !wantEvent {
		if len(evs) != 0 {
			t.Errorf("events = %+v, want none", evs)
		}
		return
	}
	if len(evs) != 1 || evs[0].SegmentsDeleted != gone || evs[0].BytesFreed != int64(gone*1000) {
		t.Errorf("events = %+v, want one for %d segments", evs, gone)
	}
	used, err := e.idx.TotalBytes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	closedLeft := used - 2000
	if float64(used) >= 0.85*float64(maxBytes) && closedLeft > 0 {
		t.Errorf("used %d of %d is not below the low watermark", used, maxBytes)
	}
	if st := r.Stats(); st.EarlyDeletions != uint64(gone) || st.DeletedSegments != uint64(gone) {
		t.Errorf("stats = %+v", st)
	}
}

// dirUsage measures the blob root like statfs would: base plus the bytes
// of every file.
func dirUsage(root string, base, total uint64) func() (uint64, uint64, error) {
	return func() (uint64, uint64, error) {
		used := base
		err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err == nil {
				used += uint64(info.Size())
			}
			return err
		})
		return used, total, err
	}
}

func TestDiskUsageWatermarks(t *testing.T) {
	e := newEnv(t)
	e.camera("a", 0)
	var segs []index.Segment
	for i := range 10 {
		segs = append(segs, e.record("a", time.Duration(10-i)*time.Hour, 1000, index.SegmentClosed))
	}
	// 5000 bytes used by other files + 10000 of footage on 16000: 0.9375.
	usage := dirUsage(e.blobs.Root(), 5000, 16000)
	r := e.retention(Config{Retention: 30 * day, BatchSize: 2}, func(d *Deps) { d.DiskUsage = usage })
	e.runOnce(r)
	used, total, err := usage()
	if err != nil {
		t.Fatal(err)
	}
	if float64(used) >= 0.85*float64(total) {
		t.Errorf("usage %d/%d not below low watermark", used, total)
	}
	// 13600 is the low mark: 14000 is not below it, 13000 is.
	e.check(segs[2:], segs[:2])
}

func TestNewestOpenSegmentNeverDeleted(t *testing.T) {
	e := newEnv(t)
	e.camera("a", 1)
	old := e.record("a", 100*day, 1000, index.SegmentClosed)
	newest := e.record("a", 50*day, 5000, index.SegmentOpen) // camera stalled
	r := e.retention(Config{Retention: day, MaxBytes: 100}, nil)
	for range 3 {
		e.runOnce(r)
	}
	e.check([]index.Segment{newest}, []index.Segment{old})
}

// failingBlobs fails to delete the given keys.
type failingBlobs struct {
	blob.Store
	fail map[string]bool
}

func (f failingBlobs) Delete(ctx context.Context, key string) error {
	if f.fail[key] {
		return errors.New("permission denied")
	}
	return f.Store.Delete(ctx, key)
}

func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		name       string
		removeFile bool // the crash came after the blob was deleted
	}{
		{"file present", false},
		{"file already gone", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.camera("a", 0)
			e.camera("b", 0)
			keepA := e.record("a", 3*time.Hour, 10, index.SegmentClosed)
			older := e.record("b", 2*time.Hour, 10, index.SegmentClosed)
			newer := e.record("b", time.Hour, 10, index.SegmentClosed)
			// A pass crashed after MarkDeleting (newer, not the oldest:
			// found through its camera's list).
			if err := e.idx.MarkDeleting(t.Context(), []int64{newer.ID}); err != nil {
				t.Fatal(err)
			}
			if tt.removeFile {
				if err := e.blobs.Delete(t.Context(), newer.Path); err != nil {
					t.Fatal(err)
				}
			}
			r := e.retention(Config{Retention: 30 * day, BatchSize: 2}, nil)
			e.runOnce(r)
			e.check([]index.Segment{keepA, older}, []index.Segment{newer})
		})
	}
}

func TestBlobErrorIsRetried(t *testing.T) {
	e := newEnv(t)
	e.camera("a", 1)
	s1, s2 := e.record("a", 3*day, 10, index.SegmentClosed), e.record("a", 2*day, 10, index.SegmentClosed)
	broken := failingBlobs{Store: e.blobs, fail: map[string]bool{s1.Path: true}}
	r := e.retention(Config{}, func(d *Deps) { d.Blobs = broken })
	e.runOnce(r)
	got, err := e.idx.GetSegment(t.Context(), s1.ID)
	if err != nil || got.State != index.SegmentDeleting || !e.fileExists(s1) {
		t.Errorf("failed delete: state %v err %v; want row kept SegmentDeleting", got.State, err)
	}
	if st := r.Stats(); st.BlobErrors != 1 || st.DeletedSegments != 1 {
		t.Errorf("stats = %+v", st)
	}
	delete(broken.fail, s1.Path)
	e.runOnce(r)
	e.check(nil, []index.Segment{s1, s2})
}

// failingIndex fails ListCameras.
type failingIndex struct{ Index }

var errIndexDown = errors.New("index down")

func (failingIndex) ListCameras(context.Context) ([]index.Camera, error) { return nil, errIndexDown }

func TestIndexErrorIsReturned(t *testing.T) {
	e := newEnv(t)
	r := e.retention(Config{}, func(d *Deps) { d.Index = failingIndex{e.idx} })
	err := r.RunOnce(t.Context())
	if !errors.Is(err, errIndexDown) {
		t.Errorf("RunOnce error = %v, want wrapped errIndexDown", err)
	}
	if err := r.Run(t.Context()); !errors.Is(err, errIndexDown) {
		t.Errorf("Run error = %v, want wrapped errIndexDown", err)
	}
}

func TestRunTicksUntilCancelled(t *testing.T) {
	e := newEnv(t)
	r := e.retention(Config{Interval: 5 * time.Millisecond}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Passes < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	if p := r.Stats().Passes; p < 3 {
		t.Errorf("passes = %d, want >= 3", p)
	}
}

func TestStatfsUsage(t *testing.T) {
	used, total, err := StatfsUsage(t.TempDir())()
	if err != nil || total == 0 || used > total {
		t.Errorf("StatfsUsage = %d, %d, %v", used, total, err)
	}
	if _, _, err := StatfsUsage(filepath.Join(t.TempDir(), "missing"))(); err == nil {
		t.Error("StatfsUsage of a missing path succeeded")
	}
}
