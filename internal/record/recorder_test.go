package record

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	t0      = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
)

func tracks() []media.Track {
	return []media.Track{
		{ID: 0, Codec: media.CodecH264, ClockRate: 90000, SPS: testSPS, PPS: testPPS},
		{ID: 1, Codec: media.CodecAAC, ClockRate: 48000, AACConfig: []byte{0x11, 0x90}, SampleRate: 48000, ChannelCount: 2},
		{ID: 2, Codec: media.CodecG711U, ClockRate: 8000},
	}
}

type rig struct {
	idx   *memIndex
	store *fs.Store
	w     *Writer
	rec   *Recorder
	stop  func()
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	store, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &rig{idx: newMemIndex(), store: store}
	r.w = NewWriter(cfg, r.idx, store, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.w.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(func() { r.stop() })
	r.rec = r.w.NewRecorder("cam1", log)
	return r
}

// feed writes n video frames at 25 fps (GOP 25) plus AAC and G.711 audio,
// starting at frame first.
func (r *rig) feed(first, n int, wallShift time.Duration) {
	for i := first; i < first+n; i++ {
		dts := int64(i) * 3600
		wall := t0.Add(wallShift + time.Duration(i)*40*time.Millisecond)
		r.rec.Write(&media.AccessUnit{Track: 0, DTS: dts, PTS: dts, Wall: wall, Key: i%25 == 0, NALUs: [][]byte{{0x65, byte(i)}}})
		// ~two AAC frames (1024 samples at 48 kHz = 21.3 ms) per video frame.
		for k := 0; k < 2; k++ {
			a := int64(i*2+k) * 960
			r.rec.Write(&media.AccessUnit{Track: 1, DTS: a, PTS: a, Wall: wall.Add(time.Duration(k) * 20 * time.Millisecond), Key: true, Payload: []byte{1, 2, 3}})
		}
		r.rec.Write(&media.AccessUnit{Track: 2, DTS: dts, PTS: dts, Wall: wall, Key: true, Payload: []byte{9}})
	}
}

func scanFile(t *testing.T, store *fs.Store, key string) *segment.ScanResult {
	t.Helper()
	p, _ := store.Path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := segment.Scan(bytesReader(data), int64(len(data)))
	if err != nil || res.Tail != nil {
		t.Fatalf("scan %s: %v %v", key, err, res.Tail)
	}
	return res
}

func TestRecorderSegmentsAndFragments(t *testing.T) {
	r := newRig(t, Config{SegmentDuration: 2 * time.Second, FragmentDuration: time.Second, SyncInterval: 10 * time.Millisecond})
	r.rec.Begin(tracks())
	r.feed(0, 5*25+10, 0) // 5.4 s
	r.rec.End()
	r.stop()

	segs := r.idx.sorted()
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	wantDur := []time.Duration{2 * time.Second, 2 * time.Second, 1400 * time.Millisecond}
	var frames int
	for i, s := range segs {
		if s.State != index.SegmentClosed {
			t.Errorf("segment %d not closed", i)
		}
		if got := s.End.Sub(s.Start); got != wantDur[i] {
			t.Errorf("segment %d lasts %v, want %v", i, got, wantDur[i])
		}
		if i > 0 && !s.Start.Equal(segs[i-1].End) {
			t.Errorf("segment %d starts %v, previous ends %v", i, s.Start, segs[i-1].End)
		}
		res := scanFile(t, r.store, s.Path)
		if res.ValidSize != s.Bytes || len(res.Fragments) != len(s.Fragments) {
			t.Errorf("segment %d: index %d bytes %d frags, file %d bytes %d frags", i, s.Bytes, len(s.Fragments), res.ValidSize, len(res.Fragments))
		}
		for k, f := range res.Fragments {
			frames += f.Samples
			if s.Fragments[k].Offset != f.Offset || !s.Fragments[k].Key {
				t.Errorf("segment %d fragment %d: index %+v file %+v", i, k, s.Fragments[k], f)
			}
		}
		if len(res.Tracks) != 2 {
			t.Errorf("segment %d has %d tracks (G.711 must be dropped)", i, len(res.Tracks))
		}
	}
	if frames != 135 {
		t.Errorf("%d frames recorded, want 135", frames)
	}
	if !segs[0].Start.Equal(t0) {
		t.Errorf("first segment starts %v", segs[0].Start)
	}
}

func TestRecorderWaitsForKeyframeAndRecordsGap(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond})
	r.rec.Begin(tracks())
	r.feed(3, 47, 0) // starts mid-GOP: frames 3..24 skipped
	r.rec.End()
	r.rec.Begin(tracks())
	r.feed(100, 50, 0) // 2 s later than the first session ended
	r.rec.End()
	r.stop()
	segs := r.idx.sorted()
	if len(segs) != 2 {
		t.Fatalf("%d segments", len(segs))
	}
	if !segs[0].Start.Equal(t0.Add(time.Second)) {
		t.Errorf("first segment starts %v, want first keyframe", segs[0].Start)
	}
	if len(r.idx.gaps) != 1 || !r.idx.gaps[0].Start.Equal(segs[0].End) || !r.idx.gaps[0].End.Equal(segs[1].Start) || r.idx.gaps[0].Reason != "reconnect" {
		t.Fatalf("gaps %+v segs %v-%v %v", r.idx.gaps, segs[0].Start, segs[0].End, segs[1].Start)
	}
}

func TestRecorderClockJump(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond})
	r.rec.Begin(tracks())
	r.feed(0, 50, 0)
	r.feed(10000, 50, time.Hour) // DTS jumps 6.6 min forward
	r.rec.End()
	r.stop()
	if segs := r.idx.sorted(); len(segs) != 2 {
		t.Fatalf("%d segments, want 2 after a clock jump", len(segs))
	}
}

func TestRecorderOverloadDropsAndCounts(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond, MaxQueuedBytes: 1})
	r.rec.Begin(tracks())
	r.feed(0, 100, 0)
	r.rec.End()
	r.stop()
	if r.rec.Stats().DroppedFrames.Load() == 0 {
		t.Fatal("no frames counted as dropped")
	}
	if r.rec.Stats().Frames.Load() != 0 {
		t.Fatal("frames recorded past the bound")
	}
}

func TestRecoverCutsTornTail(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond})
	r.rec.Begin(tracks())
	r.feed(0, 90, 0)
	// No End: simulate a crash with the segment open and a torn write.
	time.Sleep(100 * time.Millisecond)
	segs := r.idx.sorted()
	if len(segs) != 1 || segs[0].State != index.SegmentOpen {
		t.Fatalf("segments %+v", segs)
	}
	p, _ := r.store.Path(segs[0].Path)
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("\x00\x00\x01\x00moof partial"))
	f.Close()
	// A file the index does not know and a file that is garbage.
	orphan := segment.Key("cam2", t0)
	op, _ := r.store.Path(orphan)
	os.MkdirAll(filepath.Dir(op), 0o755)
	data, _ := os.ReadFile(p)
	os.WriteFile(op, data, 0o644)
	junk := segment.Key("cam3", t0)
	jp, _ := r.store.Path(junk)
	os.MkdirAll(filepath.Dir(jp), 0o755)
	os.WriteFile(jp, []byte("not a video"), 0o644)

	rep, err := Recover(context.Background(), r.idx, r.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != 1 || rep.Reindexed != 1 || rep.Quarantined != 1 || rep.TruncatedBytes == 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, s := range r.idx.sorted() {
		if s.State != index.SegmentClosed {
			t.Errorf("%s still open", s.Path)
		}
		res := scanFile(t, r.store, s.Path)
		if res.ValidSize != s.Bytes || len(res.Fragments) != len(s.Fragments) || len(res.Fragments) < 2 {
			t.Errorf("%s: index and file disagree", s.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(r.store.Root(), QuarantinePrefix+junk)); err != nil {
		t.Errorf("junk not quarantined: %v", err)
	}
}

func TestWriterTotalQueueBound(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond, MaxTotalQueuedBytes: 1})
	r.rec.Begin(tracks())
	r.feed(0, 60, 0)
	r.rec.End()
	r.stop()
	if r.rec.Stats().DroppedFrames.Load() == 0 || r.w.Stats().DroppedFrames.Load() == 0 {
		t.Fatal("frames past the total bound not counted as dropped")
	}
}

// TestWriterIndexesNewSegmentsInOneBatch: segments opened together (many
// cameras connecting or cutting at once) get their index rows in one
// AddSegments call at the group commit, not one transaction each on the
// workers' path.
func TestWriterIndexesNewSegmentsInOneBatch(t *testing.T) {
	r := newRig(t, Config{SyncInterval: time.Hour}) // commits only when stopped
	recs := []*Recorder{r.rec}
	for i := 2; i <= 20; i++ {
		recs = append(recs, r.w.NewRecorder(fmt.Sprintf("cam%d", i), slog.New(slog.DiscardHandler)))
	}
	for _, rec := range recs {
		feedVideo(rec, 60)
		rec.End()
	}
	r.stop()
	r.idx.mu.Lock()
	adds, batches := r.idx.adds, r.idx.batches
	r.idx.mu.Unlock()
	if adds != 0 || batches != 1 {
		t.Fatalf("%d AddSegment and %d AddSegments calls, want 0 and 1", adds, batches)
	}
	segs := r.idx.sorted()
	if len(segs) != len(recs) {
		t.Fatalf("%d segments indexed, want %d", len(segs), len(recs))
	}
	for _, s := range segs {
		res := scanFile(t, r.store, s.Path)
		if s.State != index.SegmentClosed || s.Bytes != res.ValidSize || s.InitSize != res.InitSize ||
			len(s.Fragments) != len(res.Fragments) || len(s.Fragments) < 2 {
			t.Errorf("%s: state %v, %d bytes, %d fragments; file %d bytes, %d fragments", s.Path, s.State, s.Bytes,
				len(s.Fragments), res.ValidSize, len(res.Fragments))
		}
	}
}

// TestWriterSegmentRefusedByIndex: a segment whose row the index refuses
// (its path is taken) fails alone; the other cameras' segments are indexed.
func TestWriterSegmentRefusedByIndex(t *testing.T) {
	r := newRig(t, Config{SyncInterval: time.Hour})
	taken := index.Segment{Camera: "cam1", Start: t0, End: t0, Path: segment.Key("cam1", t0), State: index.SegmentClosed}
	if _, err := r.idx.AddSegment(context.Background(), taken); err != nil {
		t.Fatal(err)
	}
	other := r.w.NewRecorder("cam2", slog.New(slog.DiscardHandler))
	for _, rec := range []*Recorder{r.rec, other} {
		feedVideo(rec, 30)
		rec.End()
	}
	r.stop()
	if r.w.Stats().WriteErrors.Load() == 0 {
		t.Error("the refused segment was not counted as a failure")
	}
	segs := r.idx.sorted()
	if len(segs) != 2 {
		t.Fatalf("%d segments, want the taken row and cam2's", len(segs))
	}
	for _, s := range segs {
		switch s.Camera {
		case "cam1":
			if s.State != index.SegmentClosed || len(s.Fragments) != 0 {
				t.Errorf("the taken row changed: %+v", s)
			}
		case "cam2":
			if len(s.Fragments) == 0 || s.State != index.SegmentClosed {
				t.Errorf("cam2 not recorded: %+v", s)
			}
		}
	}
}

// TestRecoverRemovesEmptySegments: a file holding only an init block (a
// stop right after a segment opened, with or without its index row) holds
// no footage: recovery removes it instead of quarantining it.
func TestRecoverRemovesEmptySegments(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond})
	r.rec.Begin(tracks())
	r.rec.Write(&media.AccessUnit{Track: 0, DTS: 0, PTS: 0, Wall: t0, Key: true, NALUs: [][]byte{{0x65, 1}}})
	deadline := time.Now().Add(5 * time.Second)
	for len(r.idx.sorted()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	segs := r.idx.sorted()
	if len(segs) != 1 || len(segs[0].Fragments) != 0 || segs[0].State != index.SegmentOpen {
		t.Fatalf("segments %+v, want one open without fragments", segs)
	}
	// the same init block under another camera, never indexed
	p, _ := r.store.Path(segs[0].Path)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	orphan := segment.Key("cam2", t0)
	op, _ := r.store.Path(orphan)
	os.MkdirAll(filepath.Dir(op), 0o755)
	if err := os.WriteFile(op, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Recover(context.Background(), r.idx, r.store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Empty != 2 || rep.Quarantined != 0 || rep.Reindexed != 0 || rep.Repaired != 0 {
		t.Fatalf("report %+v, want 2 empty files removed", rep)
	}
	if segs := r.idx.sorted(); len(segs) != 0 {
		t.Errorf("rows left: %+v", segs)
	}
	for _, p := range []string{p, op} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	if len(r.idx.gaps) != 0 {
		t.Errorf("gaps recorded for files without footage: %+v", r.idx.gaps)
	}
}

// TestRecorderOverloadLoggedOncePerEpisode: a camera whose fragments keep
// being refused logs one line, not one per fragment.
func TestRecorderOverloadLoggedOncePerEpisode(t *testing.T) {
	r := newRig(t, Config{SyncInterval: 10 * time.Millisecond, MaxQueuedBytes: 1})
	var buf testutil.LogBuffer
	rec := r.w.NewRecorder("cam9", slog.New(slog.NewTextHandler(&buf, nil)))
	feedVideo(rec, 200) // 8 s: 8 fragments refused
	rec.End()
	r.stop()
	if rec.Stats().DroppedFrames.Load() < 150 {
		t.Fatalf("%d frames dropped", rec.Stats().DroppedFrames.Load())
	}
	if n := strings.Count(buf.String(), "writer overloaded"); n != 1 {
		t.Fatalf("overload logged %d times, want once:\n%s", n, buf.String())
	}
}

// feedVideo begins rec and writes n video frames at 25 fps (GOP 25).
func feedVideo(rec *Recorder, n int) {
	rec.Begin(tracks())
	for i := range n {
		dts := int64(i) * 3600
		rec.Write(&media.AccessUnit{Track: 0, DTS: dts, PTS: dts, Wall: t0.Add(time.Duration(i) * 40 * time.Millisecond),
			Key: i%25 == 0, NALUs: [][]byte{{0x65, byte(i)}}})
	}
}
