// Package recordtest records real footage into a real store for tests of
// the packages that read recordings (playback, export, snapshots): the
// embedded street clip (H.264 768x576, 10 fps) goes through a real
// record.Writer into blob/fs files and a SQLite index in a temporary
// directory.
package recordtest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/sim"
)

// Options say what to record. Zero values take the defaults.
type Options struct {
	// Camera id (and its site "site-1"). It defaults to "cam-1".
	Camera string
	// Start is the wall time of the first frame. It defaults to
	// 2026-01-02T03:04:00Z.
	Start time.Time
	// Sessions are the lengths of footage to record, one publish session
	// each (the clip loops); the recorder sees a reconnect between two,
	// and Pause of wall time passes between them (an explicit gap). It
	// defaults to one session of 30 s.
	Sessions []time.Duration
	// Pause between sessions. It defaults to 10 s.
	Pause time.Duration
	// Record tunes the writer (segment and fragment durations); the queue
	// bounds default to 1 GiB so that nothing is dropped.
	Record record.Config
}

// Fixture is a recorded camera.
type Fixture struct {
	Dir    string // data directory (index.db, recordings/)
	Index  *sqlite.Store
	Blobs  *fs.Store
	Camera string
	Site   string
	// Sessions are the wall-time ranges of footage recorded, one per
	// session: [start of first frame, end of last frame).
	Sessions []Range
	// Frames is the number of video frames written in each session.
	Frames []int
	// FPS of the clip (frames are 1/FPS apart).
	FPS   float64
	Width int
	// Height of the picture.
	Height int
}

// Range is a time range.
type Range struct{ Start, End time.Time }

// Record records the clip as opts say and returns the fixture; the writer
// has drained and committed everything when it returns.
func Record(t testing.TB, opts Options) *Fixture {
	t.Helper()
	if opts.Camera == "" {
		opts.Camera = "cam-1"
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	}
	if len(opts.Sessions) == 0 {
		opts.Sessions = []time.Duration{30 * time.Second}
	}
	if opts.Pause <= 0 {
		opts.Pause = 10 * time.Second
	}
	if opts.Record.MaxQueuedBytes <= 0 {
		opts.Record.MaxQueuedBytes = 1 << 30
	}
	if opts.Record.MaxTotalQueuedBytes <= 0 {
		opts.Record.MaxTotalQueuedBytes = 1 << 30
	}
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	idx, err := sqlite.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	blobs, err := fs.New(filepath.Join(dir, "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture{Dir: dir, Index: idx, Blobs: blobs, Camera: opts.Camera, Site: "site-1",
		FPS: clip.FPS, Width: clip.Width, Height: clip.Height}
	if _, err := idx.CreateSite(ctx, index.Site{ID: f.Site, Name: "Site 1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := idx.CreateCamera(ctx, index.Camera{ID: f.Camera, Name: f.Camera, Site: f.Site, Record: true}); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	w := record.NewWriter(opts.Record, idx, blobs, log)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	rec := w.NewRecorder(f.Camera, log)

	track := media.Track{ID: 0, Codec: media.CodecH264, ClockRate: 90000,
		SPS: clip.SPS, PPS: clip.PPS, Width: clip.Width, Height: clip.Height}
	at := opts.Start
	for _, d := range opts.Sessions {
		rec.Begin([]media.Track{track})
		n := writeSession(rec, clip, at, d)
		rec.End()
		frameDur := time.Duration(float64(time.Second) / clip.FPS)
		end := at.Add(time.Duration(n) * frameDur)
		f.Sessions = append(f.Sessions, Range{Start: at, End: end})
		f.Frames = append(f.Frames, n)
		at = end.Add(opts.Pause)
	}
	rec.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.Stats().DroppedFrames.Load(); n != 0 {
		t.Fatalf("recordtest: the writer dropped %d frames", n)
	}
	return f
}

// writeSession writes d of the looping clip starting at wall time start
// and returns the number of video frames written.
func writeSession(rec *record.Recorder, clip *sim.Clip, start time.Time, d time.Duration) int {
	n := int(d.Seconds() * clip.FPS)
	var base int64 // DTS of the current loop's first frame
	for i := 0; i < n; i++ {
		k := i % len(clip.Frames)
		if i > 0 && k == 0 {
			base += clip.Duration
		}
		fr := clip.Frames[k]
		dts := base + fr.DTS
		pts := base + fr.PTS
		wall := start.Add(time.Duration(pts) * time.Second / 90000)
		rec.Write(&media.AccessUnit{Track: 0, PTS: pts, DTS: dts, Wall: wall, Key: fr.Key, NALUs: keyNALUs(clip, fr)})
	}
	return n
}

// keyNALUs prepends the parameter sets to keyframes, as depacket does.
func keyNALUs(clip *sim.Clip, fr sim.Frame) [][]byte {
	if !fr.Key {
		return fr.NALUs
	}
	return append([][]byte{clip.SPS, clip.PPS}, fr.NALUs...)
}
