package record

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
)

// clipRun is a stretch of the clip written to a fragmenter or recorder.
type clipRun struct {
	from, n  int
	begin    bool  // Begin (a new session) before it, End after the previous one
	dtsShift int64 // added to DTS/PTS: a camera clock jump
}

// keptFrames returns the frames a cutter keeps of [from, from+n) when it
// has to wait for a keyframe first.
func keptFrames(from, n int) []int {
	var out []int
	for i := from; i < from+n; i++ {
		if len(out) == 0 && i%20 != 0 {
			continue
		}
		out = append(out, i)
	}
	return out
}

func TestFragmenter(t *testing.T) {
	clip := loadClip(t)
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		segDur time.Duration
		runs   []clipRun // each waits for a keyframe (Begin or clock jump)
	}{
		{name: "unbroken one segment", segDur: time.Hour, runs: []clipRun{{from: 0, n: 150, begin: true}}},
		{name: "unbroken segment cuts", segDur: 4 * time.Second, runs: []clipRun{{from: 0, n: 150, begin: true}}},
		{name: "starts mid-GOP", segDur: time.Hour, runs: []clipRun{{from: 7, n: 60, begin: true}}},
		{name: "reconnect", segDur: time.Hour, runs: []clipRun{{from: 0, n: 45, begin: true}, {from: 75, n: 50, begin: true}}},
		{name: "clock jump", segDur: time.Hour, runs: []clipRun{{from: 0, n: 50, begin: true}, {from: 50, n: 50, dtsShift: 20 * 90000}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var frags []Fragment
			fr := NewFragmenter("cam1", Config{SegmentDuration: tc.segDur, FragmentDuration: time.Second},
				func(f Fragment) { frags = append(frags, f) }, slog.New(slog.DiscardHandler))
			var kept []int
			for i, r := range tc.runs {
				if r.begin {
					if i > 0 {
						fr.End()
					}
					fr.Begin(clipTracks(clip))
				}
				writeClip(fr, clip, start, r.from, r.n, r.dtsShift)
				kept = append(kept, keptFrames(r.from, r.n)...)
			}
			fr.Close()
			if len(frags) == 0 {
				t.Fatal("no fragments")
			}
			var at int // index into kept of the next fragment's first frame
			var group [][]byte
			groupFrames := 0
			probe := func() {
				if len(group) == 0 {
					return
				}
				p := filepath.Join(t.TempDir(), "f.mp4")
				if err := os.WriteFile(p, bytes.Join(group, nil), 0o644); err != nil {
					t.Fatal(err)
				}
				res := testutil.FFprobe(t, p)
				if got := res.Video().Frames(); got != groupFrames || res.DecodeErrors != "" {
					t.Errorf("ffprobe: %d frames, want %d; decode errors %q", got, groupFrames, res.DecodeErrors)
				}
				group, groupFrames = nil, 0
			}
			for i, f := range frags {
				if &f.Init[0] != &frags[0].Init[0] {
					t.Errorf("fragment %d: a new Init slice for the same layout", i)
				}
				res, err := segment.Scan(bytes.NewReader(append(append([]byte(nil), f.Init...), f.Data...)), int64(len(f.Init)+len(f.Data)))
				if err != nil || res.Tail != nil || len(res.Fragments) != 1 {
					t.Fatalf("fragment %d: init+data is not one fragment: %v %v", i, err, res)
				}
				sf := res.Fragments[0]
				if sf.Samples != f.Frames || sf.Key != f.Key {
					t.Errorf("fragment %d: file says %d frames key %v, fragment %d key %v", i, sf.Samples, sf.Key, f.Frames, f.Key)
				}
				if at+f.Frames > len(kept) {
					t.Fatalf("fragment %d: more frames than written", i)
				}
				first := kept[at]
				if f.Key != (first%20 == 0) {
					t.Errorf("fragment %d starts with frame %d, Key %v", i, first, f.Key)
				}
				if d := f.Start.Sub(clipWall(clip, start, first)); d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("fragment %d starts %v, its first frame %d is at %v", i, f.Start, first, clipWall(clip, start, first))
				}
				if d := f.Duration - time.Duration(f.Frames)*100*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("fragment %d: %d frames last %v", i, f.Frames, f.Duration)
				}
				if f.Frames == 0 || f.Duration > 1100*time.Millisecond {
					t.Errorf("fragment %d: %d frames, %v", i, f.Frames, f.Duration)
				}
				unbroken := at > 0 && kept[at] == kept[at-1]+1
				if unbroken {
					prev := frags[i-1]
					if d := f.Start.Sub(prev.Start.Add(prev.Duration)); d < -time.Millisecond || d > time.Millisecond {
						t.Errorf("fragment %d starts %v after the end of the previous one", i, d)
					}
				}
				if sf.BaseTime == 0 { // a new segment: tfdt start over
					probe()
					group = append(group, f.Init)
				}
				group = append(group, f.Data)
				groupFrames += f.Frames
				at += f.Frames
			}
			probe()
			if at != len(kept) {
				t.Errorf("%d frames in fragments, want %d", at, len(kept))
			}
		})
	}
}

// TestFragmenterMatchesRecorder feeds the same frames to a Recorder and a
// Fragmenter: the fragments are byte for byte what the recorder stores.
func TestFragmenterMatchesRecorder(t *testing.T) {
	clip := loadClip(t)
	cfg := Config{SegmentDuration: 4 * time.Second, FragmentDuration: time.Second, SyncInterval: 10 * time.Millisecond}
	r := newRig(t, cfg)
	var frags []Fragment
	fr := NewFragmenter("cam1", cfg, func(f Fragment) { frags = append(frags, f) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	both := teeReader{r.rec, fr}
	both.Begin(clipTracks(clip))
	writeClip(both, clip, t0, 0, 130, 0)
	both.End()
	r.stop()
	var stored, cut []byte
	for _, s := range r.idx.sorted() {
		p, _ := r.store.Path(s.Path)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(segment.TrimPadding(b[:s.InitSize]), frags[0].Init) {
			t.Errorf("segment %s: init differs from the fragments' Init", s.Path)
		}
		// The recorder pads every fragment to segment.Align.
		if int64(len(b))%segment.Align != 0 || s.InitSize%segment.Align != 0 {
			t.Errorf("segment %s: %d bytes, init %d: not padded to %d", s.Path, len(b), s.InitSize, segment.Align)
		}
		for k, f := range s.Fragments {
			if f.Offset%segment.Align != 0 {
				t.Errorf("segment %s: fragment %d at %d, not aligned", s.Path, k, f.Offset)
			}
			end := int64(len(b))
			if k+1 < len(s.Fragments) {
				end = s.Fragments[k+1].Offset
			}
			stored = append(stored, segment.TrimPadding(b[f.Offset:end])...)
		}
	}
	for _, f := range frags {
		cut = append(cut, f.Data...)
	}
	if len(stored) == 0 || !bytes.Equal(stored, cut) {
		t.Fatalf("recorder stored %d bytes of fragments, fragmenter cut %d, not the same bytes", len(stored), len(cut))
	}
}

// TestFragmenterKeyFragments: with KeyFragments every fragment starts on a
// keyframe (the clip has one every 2 s; fragments run from one to the next
// past FragmentDuration), and a camera without keyframes is still cut at
// maxKeyFragment.
func TestFragmenterKeyFragments(t *testing.T) {
	clip := loadClip(t)
	cases := []struct {
		name   string
		keyAt  func(i int, key bool) bool
		frames []int // frames per fragment
		allKey bool  // every fragment starts on a keyframe
	}{
		{"keyframe every 2 s", func(_ int, key bool) bool { return key }, []int{20, 20, 20, 20, 20, 20, 20, 10}, true},
		{"only the first keyframe", func(i int, _ bool) bool { return i == 0 }, []int{100, 50}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var frags []Fragment
			fr := NewFragmenter("cam1", Config{SegmentDuration: time.Hour, FragmentDuration: time.Second, KeyFragments: true},
				func(f Fragment) { frags = append(frags, f) }, slog.New(slog.DiscardHandler))
			fr.Begin(clipTracks(clip))
			for i := range 150 {
				dts, pts, key, nalus := clipFrame(clip, i)
				fr.Write(&media.AccessUnit{DTS: dts, PTS: pts, Wall: clipWall(clip, t0, i), Key: tc.keyAt(i, key), NALUs: nalus})
			}
			fr.End()
			var got []int
			for i, f := range frags {
				got = append(got, f.Frames)
				if !f.Key && tc.allKey {
					t.Errorf("fragment %d does not start on a keyframe", i)
				}
			}
			if !slices.Equal(got, tc.frames) {
				t.Errorf("frames per fragment %v, want %v", got, tc.frames)
			}
		})
	}
}
