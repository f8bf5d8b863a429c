package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/transcode/transcodetest"
)

// publishClip publishes the clip into src paced at speed x real time,
// with wall times from start; it returns when done or ctx ends.
func publishClip(ctx context.Context, p *stream.Publisher, c *transcodetest.Clip, start time.Time, speed float64) {
	for i, au := range c.Units {
		u := *au
		u.Wall = start.Add(time.Duration(u.PTS) * time.Second / 90000)
		if err := p.Write(&u); err != nil {
			return
		}
		if i+1 < len(c.Units) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(float64(40*time.Millisecond) / speed)):
			}
		}
	}
}

func startManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Acquire needs Run to have started.
	waitFor(t, 2*time.Second, "Run to start", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.ctx != nil
	})
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestTranscodeSharedAndDecodable: two viewers share one ffmpeg; the H.264
// units decode cleanly, carry the source's PTS and wall times, and the
// process is gone after the last release plus Idle.
func TestTranscodeSharedAndDecodable(t *testing.T) {
	clip := transcodetest.H265(t)
	ctx := testutil.Context(t, 30*time.Second)
	m := startManager(t, Config{Idle: 300 * time.Millisecond})

	src := stream.New("cam", stream.Options{})
	pub := src.Publish([]media.Track{clip.Track})
	dst1, rel1, err := m.Acquire("cam", src)
	if err != nil {
		t.Fatal(err)
	}
	dst2, rel2, err := m.Acquire("cam", src)
	if err != nil {
		t.Fatal(err)
	}
	if dst1 != dst2 || dst1 == src {
		t.Fatalf("viewers got different or untranscoded streams: %p %p (src %p)", dst1, dst2, src)
	}
	var col testutil.Collector
	dst1.AddReader(&col)
	lat := &latencyReader{}
	dst1.AddReader(lat)

	start := time.Now()
	go publishClip(ctx, pub, clip, start, 1)
	wantFrames := len(clip.Units) * 9 / 10
	waitFor(t, 20*time.Second, "transcoded frames", func() bool {
		_, units, _ := col.State()
		return len(units) >= wantFrames
	})
	begins, units, _ := col.State()
	t.Logf("%d source frames -> %d transcoded (%.1f s); first frame after %v; latency %s",
		len(clip.Units), len(units), time.Since(start).Seconds(), lat.first().Sub(start).Round(time.Millisecond), lat)

	stats := m.Stats()
	if len(stats) != 1 || stats[0].Starts != 1 || stats[0].Viewers != 2 || stats[0].PID == 0 {
		t.Fatalf("stats = %+v, want one transcode, one start, two viewers", stats)
	}
	pid := stats[0].PID

	tr := begins[0][0]
	if tr.Codec != media.CodecH264 || tr.Width != 640 || tr.Height != 360 || tr.SPS == nil || tr.PPS == nil {
		t.Fatalf("dst track = %+v", tr)
	}
	checkUnits(t, clip, units, start)

	path := filepath.Join(t.TempDir(), "out.h264")
	var annexb []byte
	for _, au := range units {
		b, err := h264.AnnexB(au.NALUs).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		annexb = append(annexb, b...)
	}
	if err := os.WriteFile(path, annexb, 0o600); err != nil {
		t.Fatal(err)
	}
	probe := testutil.FFprobe(t, path)
	if probe.DecodeErrors != "" {
		t.Fatalf("decode errors: %s", probe.DecodeErrors)
	}
	if v := probe.Video(); v.CodecName != "h264" || v.Frames() != len(units) {
		t.Fatalf("ffprobe: %+v, want h264 with %d frames", v, len(units))
	}

	rel1()
	rel1() // a second call does nothing
	time.Sleep(500 * time.Millisecond)
	if processGone(pid) || len(m.Stats()) != 1 {
		t.Fatal("transcode stopped while a viewer remains")
	}
	rel2()
	waitFor(t, 3*time.Second, "the transcode to stop after Idle", func() bool {
		return len(m.Stats()) == 0 && processGone(pid)
	})
	waitFor(t, 2*time.Second, "the source reader to be removed", func() bool {
		return src.Stats().Readers == 0
	})
}

// checkUnits checks the transcoded units: first a keyframe led by SPS and
// PPS, every keyframe likewise, PTS taken from the source, wall times too.
func checkUnits(t *testing.T, clip *transcodetest.Clip, units []*media.AccessUnit, start time.Time) {
	t.Helper()
	srcPTS := map[int64]bool{}
	for _, au := range clip.Units {
		srcPTS[au.PTS] = true
	}
	if !units[0].Key {
		t.Fatal("first transcoded unit is not a keyframe")
	}
	keys := 0
	for i, au := range units {
		if au.Key {
			keys++
			if len(au.NALUs) < 3 || h264.NALUType(au.NALUs[0][0]&0x1f) != h264.NALUTypeSPS ||
				h264.NALUType(au.NALUs[1][0]&0x1f) != h264.NALUTypePPS {
				t.Fatalf("keyframe %d does not start with SPS, PPS", i)
			}
		}
		if !srcPTS[au.PTS] || au.DTS != au.PTS {
			t.Fatalf("unit %d: PTS %d DTS %d not a source PTS", i, au.PTS, au.DTS)
		}
		if want := start.Add(time.Duration(au.PTS) * time.Second / 90000); !au.Wall.Equal(want) {
			t.Fatalf("unit %d: wall %v, want %v", i, au.Wall, want)
		}
		if i > 0 && au.DTS <= units[i-1].DTS {
			t.Fatalf("unit %d: DTS %d not after %d", i, au.DTS, units[i-1].DTS)
		}
	}
	if keys < 2 {
		t.Fatalf("%d keyframes in %d units, want a keyframe every ~2 s", keys, len(units))
	}
}

// TestTranscodeRestartsDeadFFmpeg: an ffmpeg killed under a viewer is
// restarted and frames flow again; the source track has no parameter sets.
func TestTranscodeRestartsDeadFFmpeg(t *testing.T) {
	clip := transcodetest.H265(t)
	ctx := testutil.Context(t, 30*time.Second)
	m := startManager(t, Config{Idle: 100 * time.Millisecond})
	src := stream.New("cam", stream.Options{})
	// No parameter sets in the track (an SDP without sprop-*): the
	// transcode takes them from the keyframes.
	tr := clip.Track
	tr.VPS, tr.SPS, tr.PPS = nil, nil, nil
	pub := src.Publish([]media.Track{tr})
	dst, release, err := m.Acquire("cam", src)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var col testutil.Collector
	dst.AddReader(&col)
	go transcodetest.Loop(ctx, pub, clip, 2)
	waitFor(t, 10*time.Second, "first frames", func() bool {
		_, units, _ := col.State()
		return len(units) > 10
	})
	pid := m.Stats()[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a restarted ffmpeg", func() bool {
		s := m.Stats()
		return len(s) == 1 && s[0].Starts == 2 && s[0].PID != 0 && s[0].PID != pid
	})
	_, before, _ := col.State()
	waitFor(t, 10*time.Second, "frames after the restart", func() bool {
		_, units, _ := col.State()
		return len(units) > len(before)+10
	})
	if begins, _, ends := col.State(); len(begins) < 2 || ends < 1 {
		t.Fatalf("%d publish sessions on dst, want a new one after the restart", len(begins))
	}
}

// TestTranscodeRunCancelStopsAll: ending Run kills every ffmpeg, with
// viewers still attached, and Acquire then fails.
func TestTranscodeRunCancelStopsAll(t *testing.T) {
	clip := transcodetest.H265(t)
	m := New(Config{Idle: time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, 2*time.Second, "Run to start", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.ctx != nil
	})
	var pids []int
	for _, cam := range []string{"a", "b"} {
		src := stream.New(cam, stream.Options{})
		pub := src.Publish([]media.Track{clip.Track})
		if _, _, err := m.Acquire(cam, src); err != nil {
			t.Fatal(err)
		}
		for _, au := range clip.Units[:30] {
			_ = pub.Write(au)
		}
	}
	waitFor(t, 10*time.Second, "two ffmpeg processes", func() bool {
		s := m.Stats()
		pids = pids[:0]
		for _, x := range s {
			if x.PID != 0 {
				pids = append(pids, x.PID)
			}
		}
		return len(pids) == 2
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Fatalf("ffmpeg %d still running after Run returned", pid)
		}
	}
	src := stream.New("c", stream.Options{})
	src.Publish([]media.Track{clip.Track})
	if _, _, err := m.Acquire("c", src); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Acquire after Run = %v, want ErrNotRunning", err)
	}
}

func TestAcquireWithoutTranscode(t *testing.T) {
	m := startManager(t, Config{FFmpeg: "/nonexistent/ffmpeg"})
	h264Track := media.Track{Codec: media.CodecH264, ClockRate: 90000, SPS: []byte{0x67}, PPS: []byte{0x68}}
	cases := []struct {
		name    string
		tracks  []media.Track
		same    bool
		wantErr error
	}{
		{"h264 passes through", []media.Track{h264Track}, true, nil},
		{"audio first, h264", []media.Track{{Codec: media.CodecOpus, ClockRate: 48000}, h264Track}, true, nil},
		{"not streaming", nil, false, ErrNotStreaming},
		{"audio only", []media.Track{{Codec: media.CodecAAC, ClockRate: 44100}}, false, ErrNoVideo},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := stream.New("cam", stream.Options{})
			if c.tracks != nil {
				src.Publish(c.tracks)
			}
			dst, release, err := m.Acquire("cam", src)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil {
				if (dst == src) != c.same {
					t.Fatalf("dst == src is %v, want %v", dst == src, c.same)
				}
				release()
			}
			if len(m.Stats()) != 0 {
				t.Fatal("a transcode was started")
			}
		})
	}
}

// TestMissingFFmpegBacksOff: a missing ffmpeg is retried with backoff and
// never blocks the source.
func TestMissingFFmpegBacksOff(t *testing.T) {
	clip := transcodetest.H265(t)
	m := startManager(t, Config{FFmpeg: "/nonexistent/ffmpeg", Idle: 50 * time.Millisecond})
	src := stream.New("cam", stream.Options{})
	pub := src.Publish([]media.Track{clip.Track})
	_, release, err := m.Acquire("cam", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, au := range slices.Repeat(clip.Units, 3) {
		t0 := time.Now()
		_ = pub.Write(au)
		if d := time.Since(t0); d > 50*time.Millisecond {
			t.Fatalf("publisher write took %v", d)
		}
	}
	waitFor(t, 2*time.Second, "the queue to drain", func() bool { return len(m.Stats()) == 1 })
	if s := m.Stats()[0]; s.Starts != 0 || s.PID != 0 {
		t.Fatalf("stats = %+v with a missing ffmpeg", s)
	}
	release()
	waitFor(t, 2*time.Second, "the transcode to stop", func() bool { return len(m.Stats()) == 0 })
}

// latencyReader measures how long after its wall time each unit arrives
// (the source is paced in real time, so wall time is publish time).
type latencyReader struct {
	mu     sync.Mutex
	arrive time.Time
	lat    []time.Duration
}

func (l *latencyReader) Begin([]media.Track) {}
func (l *latencyReader) End()                {}
func (l *latencyReader) Write(au *media.AccessUnit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.arrive.IsZero() {
		l.arrive = time.Now()
	}
	l.lat = append(l.lat, time.Since(au.Wall))
}

func (l *latencyReader) first() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.arrive
}

func (l *latencyReader) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lat) == 0 {
		return "n/a"
	}
	s := slices.Clone(l.lat)
	slices.Sort(s)
	return fmt.Sprintf("median %v, p90 %v", s[len(s)/2].Round(time.Millisecond), s[len(s)*9/10].Round(time.Millisecond))
}
