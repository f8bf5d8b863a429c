package hls

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// started returns a harness whose camera "cam" publishes a 10 fps, 1 s GOP
// stream, with the muxer started by a first playlist request.
func started(t *testing.T, cfg Config) (*harness, *gen, *stream.Publisher) {
	t.Helper()
	h := newHarness(t, cfg)
	tr := videoTrack(20, 15)
	p := h.ts.stream("cam").Publish([]media.Track{tr})
	g := newGen(tr, 10, 10)
	g.writeN(t, p, 2) // two frames: the kept GOP has a known duration
	h.mustGet(t, "cam", "live.m3u8", 200)
	return h, g, p
}

func TestBlockingReload(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig()) // segment 0 complete; segment 1 not begun
	ctx := testutil.Context(t, 10*time.Second)

	type answer struct {
		res *http.Response
		at  time.Time
	}
	got := make(chan answer, 1)
	go func() {
		res := h.get(t, ctx, "cam", "live.m3u8?_HLS_msn=1&_HLS_part=1")
		got <- answer{res, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond)
	g.writeN(t, p, 4) // frames 1-4: part 1.0 = frames 1,2; frames 3,4 pending
	select {
	case a := <-got:
		t.Fatalf("answered before part 1.1 existed: %d %s", a.res.StatusCode, body(t, a.res))
	case <-time.After(50 * time.Millisecond):
	}
	g.writeN(t, p, 1) // frame 5 completes part 1.1
	made := time.Now()
	a := <-got
	pl := body(t, a.res)
	if a.res.StatusCode != 200 || !strings.Contains(pl, `URI="live/p1.1.mp4"`) {
		t.Fatalf("blocking reload: %d\n%s", a.res.StatusCode, pl)
	}
	if d := a.at.Sub(made); d > 100*time.Millisecond {
		t.Errorf("answered %v after the part was made", d)
	}
	// A part that exists, or a segment already passed, answers at once.
	for _, q := range []string{"_HLS_msn=1&_HLS_part=0", "_HLS_msn=0", "_HLS_msn=0&_HLS_part=9"} {
		start := time.Now()
		h.mustGet(t, "cam", "live.m3u8?"+q, 200)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s took %v", q, d)
		}
	}
}

func TestBlockingReloadIsBounded(t *testing.T) {
	t.Parallel()
	h, _, _ := started(t, testConfig()) // target duration 1 s: waits at most 3 s
	start := time.Now()
	res := h.get(t, testutil.Context(t, 10*time.Second), "cam", "live.m3u8?_HLS_msn=2")
	d := time.Since(start)
	if b := body(t, res); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, `"error"`) {
		t.Fatalf("status %d, want 503 JSON: %s", res.StatusCode, b)
	}
	if d < 2900*time.Millisecond || d > 4*time.Second {
		t.Errorf("waited %v, want 3 target durations (3 s)", d)
	}
}

func TestPlaylistBadRequests(t *testing.T) {
	t.Parallel()
	h, _, _ := started(t, testConfig()) // last segment msn 0
	for _, q := range []string{
		"_HLS_msn=3", // more than two segments ahead
		"_HLS_part=1",
		"_HLS_msn=-1",
		"_HLS_msn=x",
		"_HLS_msn=1&_HLS_part=99999999",
		"_HLS_msn=1&_HLS_msn=2",
	} {
		t.Run(q, func(t *testing.T) {
			start := time.Now()
			res := h.get(t, context.Background(), "cam", "live.m3u8?"+q)
			if b := body(t, res); res.StatusCode != 400 || !strings.Contains(b, `"code":"bad_request"`) {
				t.Errorf("status %d, want 400 JSON: %s", res.StatusCode, b)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
	for _, f := range []string{"x.mp4", "s.mp4", "s01.mp4", "p1.mp4", "init-1.ts", "s99.mp4", "p0.7.mp4", "init-2.mp4"} {
		h.mustGet(t, "cam", "live/"+f, 404)
	}
}

func TestNotStreaming(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	h.ts.stream("idle") // exists, nobody publishes yet (e.g. a transcode starting)
	cfg := testConfig()
	for _, tc := range []struct {
		cam      string
		min, max time.Duration
	}{
		{"missing", 0, 100 * time.Millisecond},                              // the resolver refuses it: at once
		{"idle", cfg.StartTimeout, cfg.StartTimeout + 200*time.Millisecond}, // waited for, then 503
	} {
		start := time.Now()
		b := h.mustGet(t, tc.cam, "live.m3u8", http.StatusServiceUnavailable)
		if !strings.Contains(b, "camera is not streaming") {
			t.Errorf("%s: %s", tc.cam, b)
		}
		if d := time.Since(start); d < tc.min || d > tc.max {
			t.Errorf("%s: answered after %v, want %v..%v", tc.cam, d, tc.min, tc.max)
		}
	}
	// Media of a camera whose muxer never started: 404, and no muxer starts.
	h.mustGet(t, "other", "live/s0.mp4", 404)
	if h.ts.releases("other") != 0 || h.srv.running() != 1 {
		t.Errorf("a media request started a muxer (%d running)", h.srv.running())
	}
	// The camera starts publishing later: the waiting muxer picks it up.
	tr := videoTrack(20, 15)
	p := h.ts.stream("idle").Publish([]media.Track{tr})
	newGen(tr, 10, 10).writeN(t, p, 3)
	h.mustGet(t, "idle", "live.m3u8", 200)
}

func TestPlaylistWaitsForFirstKeyframe(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.StartTimeout = 2 * time.Second
	h := newHarness(t, cfg)
	tr := videoTrack(20, 15)
	p := h.ts.stream("cam").Publish([]media.Track{tr}) // publishing, no unit yet
	got := make(chan string, 1)
	go func() { got <- h.mustGet(t, "cam", "live.m3u8", 200) }()
	time.Sleep(100 * time.Millisecond)
	g := newGen(tr, 10, 10)
	g.n = 5 // starts mid-GOP: dropped until the keyframe
	g.writeN(t, p, 5+3)
	select {
	case pl := <-got:
		// frames 10, 11 make the first part, which completes the first segment
		if !strings.Contains(pl, "#EXTINF:0.200,\nlive/s0.mp4\n") {
			t.Errorf("playlist:\n%s", pl)
		}
	case <-time.After(time.Second):
		t.Fatal("playlist not answered after the first keyframe")
	}
	// Without a keyframe within StartTimeout: 503.
	cfg.StartTimeout = 200 * time.Millisecond
	h2 := newHarness(t, cfg)
	h2.ts.stream("cam").Publish([]media.Track{tr})
	start := time.Now()
	h2.mustGet(t, "cam", "live.m3u8", http.StatusServiceUnavailable)
	if d := time.Since(start); d < 190*time.Millisecond || d > time.Second {
		t.Errorf("answered after %v, want StartTimeout", d)
	}
}

func TestIdleMuxerIsRemoved(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.IdleTimeout = 200 * time.Millisecond
	h, g, p := started(t, cfg)
	st := h.ts.stream("cam")
	if n := st.Stats().Readers; n != 1 {
		t.Fatalf("%d readers, want the muxer", n)
	}
	// Requests keep it alive.
	for range 6 {
		time.Sleep(60 * time.Millisecond)
		g.writeN(t, p, 1)
		h.mustGet(t, "cam", "live.m3u8", 200)
	}
	if h.srv.running() != 1 || h.ts.releases("cam") != 0 {
		t.Fatal("muxer removed while in use")
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.srv.running() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h.srv.running() != 0 || st.Stats().Readers != 0 || h.ts.releases("cam") != 1 {
		t.Fatalf("idle muxer kept: running %d, readers %d, releases %d", h.srv.running(), st.Stats().Readers,
			h.ts.releases("cam"))
	}
	h.mustGet(t, "cam", "live/s0.mp4", 404)
	h.mustGet(t, "cam", "live.m3u8", 200) // a new viewer starts a new muxer
}

func TestRunStopsEveryMuxer(t *testing.T) {
	t.Parallel()
	ts := newTestStreams()
	srv := New(testConfig(), Deps{Streams: ts})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	h := &harness{srv: srv, ts: ts}
	for _, cam := range []string{"a", "b"} {
		tr := videoTrack(20, 15)
		newGen(tr, 10, 10).writeN(t, ts.stream(cam).Publish([]media.Track{tr}), 2)
		h.mustGet(t, cam, "live.m3u8", 200)
	}
	// A blocked request ends when the server stops.
	blocked := make(chan int, 1)
	go func() {
		res := h.get(t, context.Background(), "a", "live.m3u8?_HLS_msn=1")
		blocked <- res.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-blocked:
		if code != http.StatusServiceUnavailable {
			t.Errorf("blocked request: %d, want 503", code)
		}
	case <-time.After(time.Second):
		t.Error("blocked request still waiting after Run returned")
	}
	for _, cam := range []string{"a", "b"} {
		if ts.releases(cam) != 1 || ts.stream(cam).Stats().Readers != 0 {
			t.Errorf("%s: releases %d, readers %d", cam, ts.releases(cam), ts.stream(cam).Stats().Readers)
		}
	}
	h.mustGet(t, "a", "live.m3u8", http.StatusServiceUnavailable)
}

func TestPublisherRestartStartsDiscontinuity(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig())
	g.writeN(t, p, 18)
	p.Close()
	tr2 := videoTrack(40, 30) // a new SPS: another picture size
	p2 := h.ts.stream("cam").Publish([]media.Track{tr2})
	g2 := newGen(tr2, 10, 10)
	g2.writeN(t, p2, 13)
	pl := h.mustGet(t, "cam", "live.m3u8", 200)
	want := "#EXTINF:1.000,\nlive/s2.mp4\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"live/init-2.mp4\"\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.000Z\n"
	if !strings.Contains(pl, want) {
		t.Fatalf("playlist lacks %q:\n%s", want, pl)
	}
	if strings.Count(pl, "#EXT-X-MAP") != 2 {
		t.Errorf("want two maps:\n%s", pl)
	}
	init1 := h.mustGet(t, "cam", "live/init-1.mp4", 200)
	init2 := h.mustGet(t, "cam", "live/init-2.mp4", 200)
	if init1 == init2 {
		t.Fatal("same init for both sessions")
	}
	// The new session's segment continues the timeline after the old one.
	s3 := h.mustGet(t, "cam", "live/s3.mp4", 200)
	res, err := segment.Scan(strings.NewReader(init2+s3), int64(len(init2)+len(s3)))
	if err != nil || len(res.Fragments) == 0 {
		t.Fatalf("scan: %v", err)
	}
	if got, want := res.Fragments[0].BaseTime, uint64(2*90000); got != want {
		t.Errorf("new session starts at decode time %d, want %d (end of the old one)", got, want)
	}
}

func TestMemoryIsCapped(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxBytes = 400 << 10
	h, g, p := started(t, cfg)
	g.size, g.keySize = 20<<10, 60<<10 // ~2 MiB a second
	m, err := h.srv.muxer("cam", false)
	if err != nil || m == nil {
		t.Fatal(err)
	}
	peak := 0
	for range 200 {
		g.writeN(t, p, 1)
		m.mu.Lock()
		peak = max(peak, m.bytes)
		m.mu.Unlock()
	}
	// The open segment is cut at a quarter of the budget, so the bytes held
	// stay under the budget plus that segment.
	if limit := cfg.MaxBytes + cfg.MaxBytes/4 + 100<<10; peak > limit {
		t.Errorf("held %d bytes, want <= %d", peak, limit)
	}
	pl := h.mustGet(t, "cam", "live.m3u8", 200)
	if n := strings.Count(pl, "#EXTINF"); n < 2 {
		t.Errorf("only %d segments listed under the cap:\n%s", n, pl)
	}
	// Without keyframes, the open segment is cut anyway.
	g.gop = 1 << 30
	for range 200 {
		g.writeN(t, p, 1)
	}
	m.mu.Lock()
	held := m.bytes
	m.mu.Unlock()
	if held > cfg.MaxBytes+cfg.MaxBytes/4+100<<10 {
		t.Errorf("held %d bytes without keyframes", held)
	}
}

func TestFilesServeRanges(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig())
	g.writeN(t, p, 12)
	full := h.mustGet(t, "cam", "live/s1.mp4", 200)
	res := h.get(t, context.Background(), "cam", "live/s1.mp4", "Range", "bytes=8-23")
	got := body(t, res)
	if res.StatusCode != http.StatusPartialContent || got != full[8:24] {
		t.Fatalf("range: status %d, %d bytes", res.StatusCode, len(got))
	}
	for _, f := range []string{"init-1.mp4", "s1.mp4", "p1.0.mp4"} {
		res := h.get(t, context.Background(), "cam", "live/"+f)
		_, _ = io.Copy(io.Discard, res.Body)
		if ct, cc := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"); ct != "video/mp4" ||
			!strings.HasPrefix(cc, "private, max-age=") {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", f, ct, cc)
		}
	}
	res = h.get(t, context.Background(), "cam", "live.m3u8")
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("playlist Content-Type %q", ct)
	}
}

func TestPreloadHintedPartWaits(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig())
	g.writeN(t, p, 2) // part 1.0 pending
	pl := h.mustGet(t, "cam", "live.m3u8", 200)
	if !strings.Contains(pl, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="live/p1.0.mp4"`) {
		t.Fatalf("hint:\n%s", pl)
	}
	got := make(chan int, 1)
	go func() { got <- h.get(t, context.Background(), "cam", "live/p1.0.mp4").StatusCode }()
	time.Sleep(50 * time.Millisecond)
	g.writeN(t, p, 1)
	select {
	case code := <-got:
		if code != 200 {
			t.Errorf("hinted part: %d", code)
		}
	case <-time.After(time.Second):
		t.Fatal("hinted part request not woken")
	}
}

func TestAACIsKeptOtherAudioDropped(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		audio  media.Track
		tracks int
	}{
		{"aac", aacTrack(1), 2},
		{"opus", media.Track{ID: 1, Codec: media.CodecOpus, ClockRate: 48000, ChannelCount: 2}, 1},
		{"g711", media.Track{ID: 1, Codec: media.CodecG711U, ClockRate: 8000}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := videoTrack(20, 15)
			m, _, p := attached(t, testConfig(), tr, tc.audio)
			g := newGen(tr, 10, 10)
			rate := int64(tc.audio.ClockRate)
			an := int64(0)
			for range 25 {
				au := g.next()
				if err := p.Write(au); err != nil {
					t.Fatal(err)
				}
				// audio up to the video's time, 1024 samples a frame
				for (an*1024)*90000/rate <= au.DTS {
					at := an * 1024
					if err := p.Write(&media.AccessUnit{Track: 1, DTS: at + 777, PTS: at + 777, Key: true,
						Wall:    g.wall0.Add(time.Duration(at) * time.Second / time.Duration(rate)),
						Payload: bytes.Repeat([]byte{0xab}, 50)}); err != nil {
						t.Fatal(err)
					}
					an++
				}
			}
			s := segments(m)[0]
			file := append(append([]byte(nil), s.init...), s.data...)
			res, err := segment.Scan(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Tracks) != tc.tracks || res.Tail != nil {
				t.Fatalf("%d tracks (tail %v), want %d", len(res.Tracks), res.Tail, tc.tracks)
			}
			if tc.tracks == 2 && !bytes.Contains(s.data, bytes.Repeat([]byte{0xab}, 50)) {
				t.Error("no audio samples in the segment")
			}
		})
	}
}

// TestBlockingReloadPastLastPart: a part index past the last part of a
// complete segment waits for part 0 of the next segment.
func TestBlockingReloadPastLastPart(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig()) // segment 0: one part, complete
	got := make(chan string, 1)
	go func() { got <- h.mustGet(t, "cam", "live.m3u8?_HLS_msn=0&_HLS_part=1", 200) }()
	g.writeN(t, p, 2) // frames 1, 2: pending, no part yet
	select {
	case pl := <-got:
		t.Fatalf("answered before part 1.0 existed:\n%s", pl)
	case <-time.After(100 * time.Millisecond):
	}
	g.writeN(t, p, 1)
	select {
	case pl := <-got:
		if !strings.Contains(pl, `URI="live/p1.0.mp4"`) {
			t.Errorf("playlist lacks part 1.0:\n%s", pl)
		}
	case <-time.After(time.Second):
		t.Fatal("not answered after part 1.0 was made")
	}
}

// TestClockJumpStartsDiscontinuity: decode time going back (a camera clock
// reset without a new session) ends the segment; the next starts at a
// keyframe after a discontinuity, with the same init block.
func TestClockJumpStartsDiscontinuity(t *testing.T) {
	t.Parallel()
	h, g, p := started(t, testConfig())
	g.writeN(t, p, 13) // segment 1: frames 2-9, segment 2 open: 10-14
	g.n = 3            // timestamps jump back; frames 3..9 are dropped until the keyframe
	g.writeN(t, p, 7+12)
	pl := h.mustGet(t, "cam", "live.m3u8", 200)
	want := "#EXTINF:0.500,\nlive/s2.mp4\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:06.000Z\n"
	if !strings.Contains(pl, want) || strings.Count(pl, "#EXT-X-MAP") != 1 {
		t.Fatalf("playlist lacks %q with one map:\n%s", want, pl)
	}
}
