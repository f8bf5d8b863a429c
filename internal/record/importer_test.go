package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
)

const testOrigin = "spool-a1"

// gwFrag is a fragment a gateway spooled, with the frames it holds.
type gwFrag struct {
	Imported
	frames int
}

// gatewayFragments cuts the clip with a Fragmenter (gateway config gw) in
// sessions (Begin .. End each, pause of wall time between them) and
// numbers the fragments from 1.
func gatewayFragments(t *testing.T, gw Config, sessions []clipRun, pause time.Duration) []gwFrag {
	t.Helper()
	clip := loadClip(t)
	var out []gwFrag
	fr := NewFragmenter("cam1", gw, func(f Fragment) {
		out = append(out, gwFrag{Imported: Imported{Seq: uint64(len(out) + 1), Init: f.Init, Data: f.Data,
			Start: f.Start, Duration: f.Duration, Key: f.Key}, frames: f.Frames})
	}, slog.New(slog.DiscardHandler))
	at := t0
	for _, r := range sessions {
		fr.Begin(clipTracks(clip))
		writeClip(fr, clip, at.Add(-clipWall(clip, t0, r.from).Sub(t0)), r.from, r.n, r.dtsShift)
		fr.End()
		at = clipWall(clip, at.Add(-clipWall(clip, t0, r.from).Sub(t0)), r.from+r.n).Add(pause)
	}
	return out
}

// hub is a hub's recording side on a real SQLite index and blob/fs store.
type hub struct {
	dir   string
	idx   *sqlite.Store
	store *fs.Store
	w     *Writer
	stop  func()
}

func newHub(t *testing.T, dir string, cfg Config) *hub {
	t.Helper()
	return newHubWithStore(t, dir, cfg, nil)
}

func newHubWithStore(t *testing.T, dir string, cfg Config, wrap func(Store) Store) *hub {
	t.Helper()
	idx, err := sqlite.Open(t.Context(), filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := fs.New(filepath.Join(dir, "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{dir: dir, idx: idx, store: store}
	var st Store = store
	if wrap != nil {
		st = wrap(store)
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 10 * time.Millisecond
	}
	h.w = NewWriter(cfg, idx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.w.Run(ctx); close(done) }()
	stopped := false
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		idx.Close()
	}
	t.Cleanup(h.stop)
	return h
}

func (h *hub) importer() *Importer {
	return h.w.NewImporter("cam1", testOrigin, h.idx, slog.New(slog.DiscardHandler))
}

func importAll(t *testing.T, im *Importer, frags []gwFrag) (stored int) {
	t.Helper()
	for _, f := range frags {
		ok, err := im.Import(t.Context(), f.Imported)
		if err != nil {
			t.Fatalf("import seq %d: %v", f.Seq, err)
		}
		if ok {
			stored++
		}
	}
	return stored
}

func frameSum(frags []gwFrag) int {
	n := 0
	for _, f := range frags {
		n += f.frames
	}
	return n
}

// hubSegments returns camera cam1's segments (fragments included), oldest
// first.
func hubSegments(t *testing.T, idx *sqlite.Store) []index.Segment {
	t.Helper()
	segs, err := idx.Segments(t.Context(), "cam1", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// checkHubFiles checks every segment file against its row and the hub's
// own format: fragments where the index says, mfhd 1, 2, 3..., video tfdt
// equal to the index start (within a tick) and contiguous, End at the
// last fragment's end; with probe, ffprobe decodes it cleanly. It returns
// the video frames stored.
func checkHubFiles(t *testing.T, store *fs.Store, segs []index.Segment, probe bool) int {
	t.Helper()
	frames := 0
	for i, s := range segs {
		p, _ := store.Path(s.Path)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := segment.Scan(bytes.NewReader(data), int64(len(data)))
		if err != nil || res.Tail != nil || res.ValidSize != s.Bytes || len(res.Fragments) != len(s.Fragments) {
			t.Fatalf("segment %d (%s): scan %v %v; file %d frags %d bytes, index %d frags %d bytes", i, s.Path, err, res.Tail,
				len(res.Fragments), res.ValidSize, len(s.Fragments), s.Bytes)
		}
		l, err := parseInit(segment.TrimPadding(data[:res.InitSize]))
		if err != nil {
			t.Fatal(err)
		}
		ts := res.Timescale()
		var next uint64
		for k, f := range res.Fragments {
			frames += f.Samples
			fi, err := parseFragment(l, segment.TrimPadding(data[f.Offset:f.Offset+f.Size]))
			if err != nil {
				t.Fatalf("segment %d fragment %d: %v", i, k, err)
			}
			if seq := binary.BigEndian.Uint32(data[f.Offset+int64(fi.seqOff):]); seq != uint32(k+1) {
				t.Errorf("segment %d fragment %d: mfhd sequence %d", i, k, seq)
			}
			if d := segment.Ticks(f.BaseTime, ts) - s.Fragments[k].Start; d < -12*time.Microsecond || d > 12*time.Microsecond {
				t.Errorf("segment %d fragment %d: tfdt %v, index start %v", i, k, segment.Ticks(f.BaseTime, ts), s.Fragments[k].Start)
			}
			if k > 0 && f.BaseTime != next {
				t.Errorf("segment %d fragment %d: tfdt %d, previous ended at %d", i, k, f.BaseTime, next)
			}
			if f.Offset != s.Fragments[k].Offset || f.Key != s.Fragments[k].Key {
				t.Errorf("segment %d fragment %d: file %+v, index %+v", i, k, f, s.Fragments[k])
			}
			next = f.BaseTime + f.Duration
		}
		if end := s.Start.Add(segment.Ticks(next, ts)); end.Sub(s.End).Abs() > time.Millisecond {
			t.Errorf("segment %d ends %v in the index, its last fragment ends %v", i, s.End, end)
		}
		if s.Origin != testOrigin || s.State != index.SegmentClosed {
			t.Errorf("segment %d: origin %q state %d", i, s.Origin, s.State)
		}
		if i > 0 && segs[i-1].Origin == s.Origin && s.FirstSeq <= segs[i-1].FirstSeq {
			t.Errorf("segment %d: first seq %d after %d", i, s.FirstSeq, segs[i-1].FirstSeq)
		}
		if probe {
			// A segment that continues the previous one without a
			// keyframe decodes from its first keyframe on.
			want := 0
			for _, f := range res.Fragments {
				if f.Key || want > 0 {
					want += f.Samples
				}
			}
			r := testutil.FFprobe(t, p)
			if r.Video().Frames() != want || r.DecodeErrors != "" {
				t.Errorf("segment %d: ffprobe %d frames (want %d), errors %q", i, r.Video().Frames(), want, r.DecodeErrors)
			}
		}
	}
	return frames
}

func sumSamples(res *segment.ScanResult) int {
	n := 0
	for _, f := range res.Fragments {
		n += f.Samples
	}
	return n
}

func TestImporterStoresRecordings(t *testing.T) {
	cases := []struct {
		name     string
		gw, hub  Config
		sessions []clipRun
		pause    time.Duration
		segs     int // hub segments expected
		gaps     []string
	}{
		{name: "gateway segments shorter", gw: Config{SegmentDuration: 3 * time.Second}, hub: Config{SegmentDuration: 5 * time.Second},
			sessions: []clipRun{{from: 0, n: 150}}, segs: 3},
		{name: "gateway segments longer", gw: Config{SegmentDuration: time.Hour}, hub: Config{SegmentDuration: 4 * time.Second},
			sessions: []clipRun{{from: 0, n: 130}}, segs: 4},
		{name: "reconnect at the site", gw: Config{SegmentDuration: time.Hour}, hub: Config{SegmentDuration: time.Hour},
			sessions: []clipRun{{from: 0, n: 60}, {from: 0, n: 45}}, pause: 3 * time.Second, segs: 2, gaps: []string{"reconnect"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frags := gatewayFragments(t, tc.gw, tc.sessions, tc.pause)
			h := newHub(t, t.TempDir(), tc.hub)
			im := h.importer()
			if n := importAll(t, im, frags); n != len(frags) {
				t.Fatalf("stored %d of %d", n, len(frags))
			}
			acked, err := im.Flush(t.Context())
			if err != nil || acked != uint64(len(frags)) {
				t.Fatalf("flush = %d, %v; want %d", acked, err, len(frags))
			}
			seq, _, err := h.idx.LastImported(t.Context(), "cam1", testOrigin)
			if err != nil || seq != uint64(len(frags)) {
				t.Fatalf("last imported = %d, %v", seq, err)
			}
			im.Close()
			h.stopWriter(t)
			segs := hubSegments(t, h.idx)
			if len(segs) != tc.segs {
				t.Errorf("%d hub segments, want %d", len(segs), tc.segs)
			}
			if got := checkHubFiles(t, h.store, segs, true); got != frameSum(frags) {
				t.Errorf("%d frames stored, want %d", got, frameSum(frags))
			}
			var next uint64 = 1
			for i, s := range segs {
				if s.FirstSeq != next {
					t.Errorf("segment %d first seq %d, want %d", i, s.FirstSeq, next)
				}
				next = s.FirstSeq + uint64(len(s.Fragments))
				if !s.Fragments[0].Key && (i == 0 || !s.Start.Equal(segs[i-1].End)) {
					t.Errorf("segment %d starts without a keyframe after a discontinuity", i)
				}
				if i > 0 && tc.pause == 0 && s.Start.Sub(segs[i-1].Start) < tc.hub.SegmentDuration {
					t.Errorf("segment %d cut after %v", i, s.Start.Sub(segs[i-1].Start))
				}
			}
			checkGaps(t, h.idx, tc.gaps)
		})
	}
}

// stopWriter drains the writer (the index stays open).
func (h *hub) stopWriter(t *testing.T) {
	t.Helper()
	// stop closes the index; reopen it for reading.
	h.stop()
	idx, err := sqlite.Open(t.Context(), filepath.Join(h.dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	h.idx = idx
}

func checkGaps(t *testing.T, idx *sqlite.Store, want []string) []index.Gap {
	t.Helper()
	gaps, err := idx.Gaps(t.Context(), "cam1", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != len(want) {
		t.Fatalf("gaps %+v, want reasons %v", gaps, want)
	}
	for i, g := range gaps {
		if g.Reason != want[i] || g.State != index.GapLost || !g.Start.Before(g.End) {
			t.Errorf("gap %d = %+v, want reason %s", i, g, want[i])
		}
	}
	return gaps
}

func TestImporterSkipsDuplicates(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 100}}, 0)
	h := newHub(t, t.TempDir(), Config{})
	im := h.importer()
	importAll(t, im, frags[:6])
	// The gateway re-sends from 3 (its ack was lost), then goes on.
	for i, f := range frags[2:] {
		stored, err := im.Import(t.Context(), f.Imported)
		if err != nil {
			t.Fatal(err)
		}
		if wantStored := i >= 4; stored != wantStored {
			t.Errorf("seq %d stored=%v, want %v", f.Seq, stored, wantStored)
		}
	}
	if acked, err := im.Flush(t.Context()); err != nil || acked != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", acked, err)
	}
	im.Close()
	h.stopWriter(t)
	segs := hubSegments(t, h.idx)
	if got := checkHubFiles(t, h.store, segs, true); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d", got, frameSum(frags))
	}
	checkGaps(t, h.idx, nil)
}

func TestImporterSeqHole(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 120}}, 0)
	h := newHub(t, t.TempDir(), Config{})
	im := h.importer()
	sent := append(append([]gwFrag(nil), frags[:4]...), frags[6:]...) // 5 and 6 were dropped at the site
	importAll(t, im, sent)
	if acked, err := im.Flush(t.Context()); err != nil || acked != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", acked, err)
	}
	im.Close()
	h.stopWriter(t)
	segs := hubSegments(t, h.idx)
	if len(segs) != 2 || segs[0].FirstSeq != 1 || len(segs[0].Fragments) != 4 || segs[1].FirstSeq != 7 {
		t.Fatalf("segments: %d, want 1..4 and 7..", len(segs))
	}
	gaps := checkGaps(t, h.idx, []string{"dropped_at_site"})
	if !gaps[0].Start.Equal(segs[0].End) || !gaps[0].End.Equal(frags[6].Start.UTC().Truncate(time.Microsecond)) {
		t.Errorf("gap %v..%v, want %v..%v", gaps[0].Start, gaps[0].End, segs[0].End, frags[6].Start)
	}
	if got := checkHubFiles(t, h.store, segs, true); got != frameSum(sent) {
		t.Errorf("%d frames stored, want %d", got, frameSum(sent))
	}
}

func TestImporterRefusesBadFragments(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 40}}, 0)
	good := frags[1].Imported // a non-key fragment
	mut := func(f func(b []byte) []byte) Imported {
		g := good
		g.Data = f(append([]byte(nil), good.Data...))
		return g
	}
	l, err := parseInit(good.Init)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFragment(l, good.Data); err != nil {
		t.Fatal(err)
	}
	trun := bytes.Index(good.Data, []byte("trun")) + 4 // body: flags, count, data offset, entries
	cases := []struct {
		name string
		f    Imported
	}{
		{"truncated", mut(func(b []byte) []byte { return b[:len(b)-100] })},
		{"trailing bytes", mut(func(b []byte) []byte { return append(b, 0, 0, 0, 8, 'f', 'r', 'e', 'e') })},
		{"empty", mut(func(b []byte) []byte { return nil })},
		{"not a moof", mut(func(b []byte) []byte { copy(b[4:], "moov"); return b })},
		{"sample larger than mdat", mut(func(b []byte) []byte {
			e := trun + 12 // first entry: duration, size, flags
			binary.BigEndian.PutUint32(b[e+4:], binary.BigEndian.Uint32(b[e+4:])+1)
			return b
		})},
		{"zero duration", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[trun+12:], 0); return b })},
		{"unknown track", mut(func(b []byte) []byte {
			tfhd := bytes.Index(b, []byte("tfhd")) + 4
			binary.BigEndian.PutUint32(b[tfhd+4:], 9)
			return b
		})},
		{"key claimed", func() Imported { g := good; g.Key = true; return g }()},
		{"duration wrong", func() Imported { g := good; g.Duration += 200 * time.Millisecond; return g }()},
		{"bad init", func() Imported { g := good; g.Init = g.Init[:len(g.Init)/2]; return g }()},
		{"seq 0", func() Imported { g := good; g.Seq = 0; return g }()},
	}
	h := newHub(t, t.TempDir(), Config{})
	im := h.importer()
	if _, err := im.Import(t.Context(), frags[0].Imported); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stored, err := im.Import(t.Context(), tc.f)
			if stored || !errors.Is(err, ErrBadFragment) {
				t.Errorf("stored=%v err=%v, want ErrBadFragment", stored, err)
			}
		})
	}
	if acked, err := im.Flush(t.Context()); err != nil || acked != 1 {
		t.Fatalf("flush after refusals = %d, %v; want 1", acked, err)
	}
	// The good fragment with the same seq is still taken.
	if stored, err := im.Import(t.Context(), good); !stored || err != nil {
		t.Fatalf("good fragment after refusals: %v %v", stored, err)
	}
	im.Close()
	h.stopWriter(t)
	segs := hubSegments(t, h.idx)
	if got := checkHubFiles(t, h.store, segs, true); got != frags[0].frames+frags[1].frames {
		t.Errorf("%d frames stored, want %d", got, frags[0].frames+frags[1].frames)
	}
}

func TestImporterResumesAfterRestart(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 100}}, 0)
	dir := t.TempDir()
	h := newHub(t, dir, Config{})
	im := h.importer()
	importAll(t, im, frags[:6])
	if acked, err := im.Flush(t.Context()); err != nil || acked != 6 {
		t.Fatalf("flush = %d, %v", acked, err)
	}
	im.Close()
	h.stop()

	h2 := newHub(t, dir, Config{})
	im2 := h2.importer()
	if acked, err := im2.Flush(t.Context()); err != nil || acked != 6 {
		t.Fatalf("flush of a new importer = %d, %v; want 6 from the index", acked, err)
	}
	if n := importAll(t, im2, frags); n != len(frags)-6 {
		t.Errorf("stored %d after the restart, want %d", n, len(frags)-6)
	}
	if acked, err := im2.Flush(t.Context()); err != nil || acked != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", acked, err)
	}
	im2.Close()
	h2.stopWriter(t)
	segs := hubSegments(t, h2.idx)
	if got := checkHubFiles(t, h2.store, segs, true); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d", got, frameSum(frags))
	}
	checkGaps(t, h2.idx, nil)
}

// TestImporterCrashLosesNothingAcknowledged takes the index and the files
// of a running hub as a crash would leave them (index first, then files
// that only grew since, plus a torn write), recovers, and lets the gateway
// re-send from the start: everything acknowledged before the crash is
// there, nothing is stored twice, nothing is lost.
func TestImporterCrashLosesNothingAcknowledged(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 150}}, 0)
	h := newHub(t, t.TempDir(), Config{SegmentDuration: time.Hour})
	im := h.importer()
	importAll(t, im, frags[:5])
	acked, err := im.Flush(t.Context())
	if err != nil || acked != 5 {
		t.Fatalf("flush = %d, %v", acked, err)
	}
	importAll(t, im, frags[5:9]) // not acknowledged

	crash := t.TempDir()
	if _, err := h.idx.DB().ExecContext(t.Context(), `VACUUM INTO ?`, filepath.Join(crash, "index.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(crash, "recordings"), os.DirFS(h.store.Root())); err != nil {
		t.Fatal(err)
	}
	segs := hubSegments(t, h.idx)
	p := filepath.Join(crash, "recordings", filepath.FromSlash(segs[len(segs)-1].Path))
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x00\x00\x10\x00moof torn"))
	f.Close()

	idx, err := sqlite.Open(t.Context(), filepath.Join(crash, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := fs.New(filepath.Join(crash, "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Recover(t.Context(), idx, store, slog.New(slog.DiscardHandler))
	if err != nil || rep.Repaired != 1 {
		t.Fatalf("recover: %+v %v", rep, err)
	}
	seq, _, err := idx.LastImported(t.Context(), "cam1", testOrigin)
	if err != nil || seq < acked {
		t.Fatalf("after recovery last imported = %d, %v; %d were acknowledged", seq, err, acked)
	}
	idx.Close()

	h2 := newHub(t, crash, Config{SegmentDuration: time.Hour})
	im2 := h2.importer()
	if n := importAll(t, im2, frags); n != len(frags)-int(seq) {
		t.Errorf("stored %d after the crash, want %d", n, len(frags)-int(seq))
	}
	if a, err := im2.Flush(t.Context()); err != nil || a != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", a, err)
	}
	im2.Close()
	h2.stopWriter(t)
	all := hubSegments(t, h2.idx)
	if got := checkHubFiles(t, h2.store, all, true); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d exactly", got, frameSum(frags))
	}
	checkGaps(t, h2.idx, nil)
}

// blockingStore holds Create until release is closed.
type blockingStore struct {
	Store
	release chan struct{}
}

func (b blockingStore) Create(ctx context.Context, key string) (blob.Writer, error) {
	<-b.release
	return b.Store.Create(ctx, key)
}

func TestImporterWaitsForQueueSpace(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 60}}, 0)
	release := make(chan struct{})
	h := newHubWithStore(t, t.TempDir(), Config{MaxQueuedBytes: 1}, func(s Store) Store { return blockingStore{s, release} })
	im := h.importer()
	if ok, err := im.Import(t.Context(), frags[0].Imported); !ok || err != nil {
		t.Fatalf("first fragment: %v %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if ok, err := im.Import(ctx, frags[1].Imported); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second fragment with a full queue: %v %v, want to wait until ctx ends", ok, err)
	}
	close(release)
	if n := importAll(t, im, frags[1:]); n != len(frags)-1 {
		t.Fatalf("stored %d", n)
	}
	if a, err := im.Flush(t.Context()); err != nil || a != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", a, err)
	}
	im.Close()
	h.stopWriter(t)
	if got := checkHubFiles(t, h.store, hubSegments(t, h.idx), false); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d", got, frameSum(frags))
	}
}

// TestImporterKeepsAudioOffsets imports fragments with video and AAC
// audio into segments cut elsewhere than the gateway's: every track keeps
// its offset to the video.
func TestImporterKeepsAudioOffsets(t *testing.T) {
	clip := loadClip(t)
	tracks := append(clipTracks(clip), media.Track{ID: 1, Codec: media.CodecAAC, ClockRate: 48000,
		AACConfig: []byte{0x11, 0x90}, SampleRate: 48000, ChannelCount: 2})
	var frags []gwFrag
	fr := NewFragmenter("cam1", Config{SegmentDuration: 3 * time.Second}, func(f Fragment) {
		frags = append(frags, gwFrag{Imported: Imported{Seq: uint64(len(frags) + 1), Init: f.Init, Data: f.Data,
			Start: f.Start, Duration: f.Duration, Key: f.Key}, frames: f.Frames})
	}, slog.New(slog.DiscardHandler))
	fr.Begin(tracks)
	audio := 0
	for i := 0; i < 120; i++ {
		writeClip(fr, clip, t0, i, 1, 0)
		// AAC frames (1024 samples) up to this frame's wall time, starting
		// 7 ms after the video.
		for ; time.Duration(audio)*1024*time.Second/48000+7*time.Millisecond <= time.Duration(i)*100*time.Millisecond; audio++ {
			d := int64(audio) * 1024
			fr.Write(&media.AccessUnit{Track: 1, DTS: d, PTS: d, Key: true, Payload: []byte{1, 2, 3},
				Wall: t0.Add(7*time.Millisecond + time.Duration(d)*time.Second/48000)})
		}
	}
	fr.End()
	// where the audio run ends relative to the video run's start, in
	// seconds (leading audio from before a hub segment's first video
	// sample is dropped, so the starts may differ)
	audioSamples := 0 // gateway's minus hub's
	offsets := func(init, data []byte, sign int) (float64, bool) {
		l, err := parseInit(init)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := parseFragment(l, data)
		if err != nil {
			t.Fatal(err)
		}
		v, a := fi.ref(1), fi.ref(2)
		if a == nil {
			return 0, false
		}
		audioSamples += sign * a.samples
		return float64(a.base+a.duration)/48000 - float64(v.base)/90000, true
	}
	var want []float64
	var has []bool
	for _, f := range frags {
		o, ok := offsets(f.Init, f.Data, 1)
		want, has = append(want, o), append(has, ok)
	}
	h := newHub(t, t.TempDir(), Config{SegmentDuration: 5 * time.Second})
	im := h.importer()
	importAll(t, im, frags)
	im.Close()
	h.stopWriter(t)
	segs := hubSegments(t, h.idx)
	if len(segs) < 2 {
		t.Fatalf("%d segments", len(segs))
	}
	k := 0
	for _, s := range segs {
		p, _ := h.store.Path(s.Path)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		init := segment.TrimPadding(data[:s.InitSize])
		for i, f := range s.Fragments {
			end := s.Bytes
			if i+1 < len(s.Fragments) {
				end = s.Fragments[i+1].Offset
			}
			got, ok := offsets(init, segment.TrimPadding(data[f.Offset:end]), -1)
			if ok != has[k] {
				t.Fatalf("fragment %d: audio run %v, gateway had %v", k, ok, has[k])
			}
			if ok && (got-want[k] > 1.0/48000+1.0/90000 || want[k]-got > 1.0/48000+1.0/90000) {
				t.Errorf("fragment %d: audio %.6f s from the video, gateway had %.6f s", k, got, want[k])
			}
			k++
		}
	}
	if k != len(frags) {
		t.Errorf("%d fragments stored, want %d", k, len(frags))
	}
	if audioSamples <= 0 || audioSamples > 10*len(segs) {
		t.Errorf("%d audio samples from before a segment's first video sample dropped; want a few at each segment start", audioSamples)
	}
}

// failingStore makes the first file it creates fail from its failAt-th
// write on (the init block is write 1).
type failingStore struct {
	Store
	failAt  int
	created *int
}

type failingWriter struct {
	blob.Writer
	n, failAt int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	if f.failAt > 0 && f.n >= f.failAt {
		return 0, errors.New("disk on fire")
	}
	return f.Writer.Write(p)
}

// WriteVec fails like Write: the writer writes a fragment (or an init
// block) with its padding in one call.
func (f *failingWriter) WriteVec(bufs [][]byte) (int64, error) {
	f.n++
	if f.failAt > 0 && f.n >= f.failAt {
		return 0, errors.New("disk on fire")
	}
	if vw, ok := f.Writer.(blob.VecWriter); ok {
		return vw.WriteVec(bufs)
	}
	var total int64
	for _, b := range bufs {
		n, err := f.Writer.Write(b)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s failingStore) Create(ctx context.Context, key string) (blob.Writer, error) {
	w, err := s.Store.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	*s.created++
	if *s.created == 1 {
		return &failingWriter{Writer: w, failAt: s.failAt}, nil
	}
	return &failingWriter{Writer: w}, nil
}

func TestImporterWriteErrorResends(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 100}}, 0)
	created := 0
	h := newHubWithStore(t, t.TempDir(), Config{SegmentDuration: time.Hour}, func(s Store) Store {
		return failingStore{Store: s, failAt: 1 + 5, created: &created} // fragment 5 fails
	})
	im := h.importer()
	importAll(t, im, frags)
	acked, err := im.Flush(t.Context())
	if err == nil || acked > 4 {
		t.Fatalf("flush after a write error = %d, %v; want at most 4 and the error", acked, err)
	}
	// The gateway re-sends everything after its ack.
	n := 0
	for _, f := range frags[acked:] {
		stored, err := im.Import(t.Context(), f.Imported)
		if err != nil {
			t.Fatalf("re-send seq %d: %v", f.Seq, err)
		}
		if stored {
			n++
		}
	}
	if n != len(frags)-4 {
		t.Errorf("stored %d re-sent fragments, want %d (5..%d)", n, len(frags)-4, len(frags))
	}
	if a, err := im.Flush(t.Context()); err != nil || a != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", a, err)
	}
	im.Close()
	h.stopWriter(t)
	segs := hubSegments(t, h.idx)
	if len(segs) != 2 || len(segs[0].Fragments) != 4 || segs[1].FirstSeq != 5 {
		t.Fatalf("%d segments; want 1..4 and 5..", len(segs))
	}
	if got := checkHubFiles(t, h.store, segs, true); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d exactly", got, frameSum(frags))
	}
	checkGaps(t, h.idx, nil)
}

// TestImporterAskedAgainKeepsQueuedState: an importer asked for again
// after Close (a failed upload) while its fragments are not committed yet
// does not store them twice when the gateway re-sends them.
func TestImporterAskedAgainKeepsQueuedState(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 60}}, 0)
	release := make(chan struct{})
	h := newHubWithStore(t, t.TempDir(), Config{}, func(s Store) Store { return blockingStore{s, release} })
	im := h.importer()
	importAll(t, im, frags[:3])
	im.Close() // the upload failed; nothing is committed yet
	im2 := h.importer()
	if im2 != im {
		t.Error("a new importer for the same camera and origin")
	}
	close(release)
	if n := importAll(t, im2, frags); n != len(frags)-3 {
		t.Errorf("stored %d re-sent fragments, want %d", n, len(frags)-3)
	}
	if a, err := im2.Flush(t.Context()); err != nil || a != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", a, err)
	}
	im2.Close()
	h.stopWriter(t)
	if got := checkHubFiles(t, h.store, hubSegments(t, h.idx), false); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d exactly", got, frameSum(frags))
	}
}

// gatedFailingStore holds the first file's creation until release and
// makes that file fail from its failAt-th write on; later files work.
type gatedFailingStore struct {
	Store
	release <-chan struct{}
	failAt  int
	created *int
}

func (s gatedFailingStore) Create(ctx context.Context, key string) (blob.Writer, error) {
	*s.created++
	first := *s.created == 1
	if first {
		<-s.release
	}
	w, err := s.Store.Create(ctx, key)
	if err != nil || !first {
		return w, err
	}
	return &failingWriter{Writer: w, failAt: s.failAt}, nil
}

// TestImporterWriteErrorThenRestartLosesNothing: a write fails in one
// segment while the importer has already queued fragments for the next
// ones; the hub then restarts before the gateway re-sent anything. No
// fragment after the failed one may be committed (the hub would resume
// after it and never ask for the hole again): the restarted hub asks for
// everything from the failure on and ends up with every frame, once.
func TestImporterWriteErrorThenRestartLosesNothing(t *testing.T) {
	frags := gatewayFragments(t, Config{}, []clipRun{{from: 0, n: 100}}, 0)
	dir := t.TempDir()
	release := make(chan struct{})
	created := 0
	h := newHubWithStore(t, dir, Config{SegmentDuration: 2 * time.Second}, func(s Store) Store {
		return gatedFailingStore{Store: s, release: release, failAt: 1 + 2, created: &created} // fragment 2 fails
	})
	im := h.importer()
	importAll(t, im, frags) // all queued behind the first file's creation
	im.cmu.Lock()
	opened := len(im.outstanding)
	im.cmu.Unlock()
	if opened < 2 {
		t.Fatalf("%d segments queued: the test needs the importer past the failed segment", opened)
	}
	close(release)
	acked, err := im.Flush(t.Context())
	if err == nil || acked > 1 {
		t.Fatalf("flush after a write error = %d, %v; want at most 1 and the error", acked, err)
	}
	if created != 1 {
		t.Errorf("%d files created; the segments after the failed one must not be", created)
	}
	im.Close()
	h.stop()

	h2 := newHub(t, dir, Config{SegmentDuration: 2 * time.Second})
	im2 := h2.importer()
	resume, err := im2.Flush(t.Context())
	if err != nil || resume > 1 {
		t.Fatalf("the restarted hub resumes after seq %d (%v); want at most 1: fragments after the failure were committed", resume, err)
	}
	if n := importAll(t, im2, frags); n != len(frags)-int(resume) {
		t.Errorf("stored %d re-sent fragments, want %d", n, len(frags)-int(resume))
	}
	if a, err := im2.Flush(t.Context()); err != nil || a != uint64(len(frags)) {
		t.Fatalf("flush = %d, %v", a, err)
	}
	im2.Close()
	h2.stopWriter(t)
	if got := checkHubFiles(t, h2.store, hubSegments(t, h2.idx), true); got != frameSum(frags) {
		t.Errorf("%d frames stored, want %d exactly", got, frameSum(frags))
	}
	checkGaps(t, h2.idx, nil)
}
