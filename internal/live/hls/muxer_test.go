package hls

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/stream"
)

// attached returns a muxer reading a fresh stream, and the stream's
// publisher of tracks.
func attached(t *testing.T, cfg Config, tracks ...media.Track) (*muxer, *stream.Stream, *stream.Publisher) {
	t.Helper()
	st := stream.New("cam", stream.Options{})
	m := newMuxer(cfg.withDefaults(), slog.New(slog.DiscardHandler))
	st.AddReader(m)
	t.Cleanup(func() { st.RemoveReader(m) })
	return m, st, st.Publish(tracks)
}

// snapshot is what a test reads of a segment.
type snapshot struct {
	dur         time.Duration
	parts       []time.Duration
	independent []bool
	complete    bool
	data        []byte
	init        []byte
	disc        bool
}

func segments(m *muxer) []snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []snapshot
	for _, s := range m.segs {
		sn := snapshot{dur: s.dur, complete: s.complete, data: s.data, init: s.init.data, disc: s.discontinuity}
		for _, p := range s.parts {
			sn.parts = append(sn.parts, p.dur)
			sn.independent = append(sn.independent, p.independent)
		}
		out = append(out, sn)
	}
	return out
}

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func repeat(d time.Duration, n int, tail ...time.Duration) []time.Duration {
	var out []time.Duration
	for range n {
		out = append(out, d)
	}
	return append(out, tail...)
}

func TestSegmentsCutOnKeyframesIntoParts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		fps, gop  int
		target    time.Duration
		segDur    time.Duration
		parts     []time.Duration
		keyParts  []int // indexes of parts that start with a keyframe
		segFrames int
	}{
		{name: "1s GOP, 1s target", fps: 10, gop: 10, target: time.Second, segDur: time.Second,
			parts: repeat(200*time.Millisecond, 5), keyParts: []int{0}, segFrames: 10},
		{name: "2.5s GOP cuts at the keyframe after the target", fps: 10, gop: 25, target: time.Second,
			segDur: 2500 * time.Millisecond, parts: repeat(200*time.Millisecond, 12, 100*time.Millisecond),
			keyParts: []int{0}, segFrames: 25},
		{name: "1s GOP, 2s target: a part starts at each keyframe", fps: 10, gop: 10, target: 2 * time.Second,
			segDur: 2 * time.Second, parts: repeat(200*time.Millisecond, 10), keyParts: []int{0, 5}, segFrames: 20},
		{name: "30 fps parts stay within the target", fps: 30, gop: 30, target: 2 * time.Second,
			segDur: 2 * time.Second, parts: repeat(200*time.Millisecond, 10), keyParts: []int{0, 5}, segFrames: 60},
		{name: "25 fps, 0.7 s GOP", fps: 25, gop: 17, target: time.Second, segDur: 1360 * time.Millisecond,
			parts: ms(200, 200, 200, 80, 200, 200, 200, 80), keyParts: []int{0, 4}, segFrames: 34},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.SegmentDuration = tc.target
			tr := videoTrack(20, 15)
			m, _, p := attached(t, cfg, tr)
			g := newGen(tr, tc.fps, tc.gop)
			g.writeN(t, p, 3*tc.segFrames+1)
			segs := segments(m)
			if len(segs) != 4 || segs[3].complete {
				t.Fatalf("%d segments (last complete %v), want 3 complete + 1 open", len(segs), segs[len(segs)-1].complete)
			}
			for i, s := range segs[:3] {
				if s.dur != tc.segDur {
					t.Errorf("segment %d: duration %v, want %v", i, s.dur, tc.segDur)
				}
				if !equalDurations(s.parts, tc.parts) {
					t.Errorf("segment %d: parts %v, want %v", i, s.parts, tc.parts)
				}
				for j, ind := range s.independent {
					if want := contains(tc.keyParts, j); ind != want {
						t.Errorf("segment %d part %d: independent %v, want %v", i, j, ind, want)
					}
				}
				checkSegmentFile(t, s, tc.segFrames)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// checkSegmentFile scans init+segment with the recording format's scanner:
// one fragment per part, the first on a keyframe, frames and time add up.
func checkSegmentFile(t *testing.T, s snapshot, frames int) {
	t.Helper()
	file := append(append([]byte(nil), s.init...), s.data...)
	res, err := segment.Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if res.Tail != nil || len(res.Fragments) != len(s.parts) {
		t.Fatalf("scan: %d fragments (tail %v), want %d", len(res.Fragments), res.Tail, len(s.parts))
	}
	n := 0
	for i, f := range res.Fragments {
		n += f.Samples
		if f.Key != s.independent[i] {
			t.Errorf("fragment %d: key %v, part independent %v", i, f.Key, s.independent[i])
		}
	}
	if n != frames || res.Duration() != s.dur {
		t.Errorf("scan: %d frames over %v, want %d over %v", n, res.Duration(), frames, s.dur)
	}
}

func TestFirstSegmentIsCutFromTheKeptGOP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	tr := videoTrack(20, 15)
	p := h.ts.stream("cam").Publish([]media.Track{tr})
	g := newGen(tr, 10, 10)
	g.writeN(t, p, 17) // the kept GOP: frames 10..16

	start := time.Now()
	pl := h.mustGet(t, "cam", "live.m3u8", 200)
	seg := h.mustGet(t, "cam", "live/s0.mp4", 200)
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("first segment took %v after the first playlist request, want < one part (200ms)", d)
	}
	for _, want := range []string{"#EXTINF:0.700,\nlive/s0.mp4\n", "#EXT-X-PART:DURATION=0.200,URI=\"live/p0.0.mp4\",INDEPENDENT=YES\n",
		"#EXT-X-PART:DURATION=0.100,URI=\"live/p0.3.mp4\"\n", "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"live/p1.0.mp4\"\n"} {
		if !bytes.Contains([]byte(pl), []byte(want)) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	init := h.mustGet(t, "cam", "live/init-1.mp4", 200)
	checkSegmentFile(t, snapshot{init: []byte(init), data: []byte(seg), dur: 700 * time.Millisecond,
		parts: ms(200, 200, 200, 100), independent: []bool{true, false, false, false}}, 7)

	// Live frames continue in the next segment, which starts mid-GOP.
	g.writeN(t, p, 4)
	h.mustGet(t, "cam", "live/p1.0.mp4", 200)
}

// A viewer who arrives right at a keyframe finds a kept GOP of one frame,
// whose duration is not known yet: the first segment waits for the next
// frames instead of guessing it (a guessed 40 ms for a 10 fps camera left
// a 60 ms hole in the timeline that stalled Chromium at 0.04 s).
func TestFirstSegmentOfOneKeptFrameIsNotGuessed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	tr := videoTrack(20, 15)
	p := h.ts.stream("cam").Publish([]media.Track{tr})
	g := newGen(tr, 10, 10)
	g.writeN(t, p, 11) // the kept GOP: keyframe 10 alone

	got := make(chan string, 1)
	go func() { got <- h.mustGet(t, "cam", "live.m3u8", 200) }()
	time.Sleep(50 * time.Millisecond) // the request attaches the muxer
	g.writeN(t, p, 3)
	pl := <-got
	if !bytes.Contains([]byte(pl), []byte("#EXTINF:0.200,\nlive/s0.mp4\n")) {
		t.Errorf("first segment is not the kept keyframe and its successor (200 ms):\n%s", pl)
	}
	seg := h.mustGet(t, "cam", "live/s0.mp4", 200)
	init := h.mustGet(t, "cam", "live/init-1.mp4", 200)
	checkSegmentFile(t, snapshot{init: []byte(init), data: []byte(seg), dur: 200 * time.Millisecond,
		parts: ms(200), independent: []bool{true}}, 2)
}
