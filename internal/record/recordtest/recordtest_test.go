package recordtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/testutil"
)

func TestRecordMakesPlayableSegments(t *testing.T) {
	f := Record(t, Options{
		Sessions: []time.Duration{12 * time.Second, 5 * time.Second},
		Record:   record.Config{SegmentDuration: 5 * time.Second},
	})
	segs, err := f.Index.Segments(context.Background(), f.Camera, f.Sessions[0].Start.Add(-time.Hour), f.Sessions[1].End.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3 (12 s cut near 5 s on a keyframe, then 5 s)", len(segs))
	}
	frames := 0
	for _, s := range segs {
		if len(s.Fragments) == 0 || s.InitSize == 0 {
			t.Fatalf("segment %s: %d fragments, init %d", s.Path, len(s.Fragments), s.InitSize)
		}
		p := testutil.FFprobe(t, filepath.Join(f.Dir, "recordings", filepath.FromSlash(s.Path)))
		if p.DecodeErrors != "" {
			t.Fatalf("segment %s: %s", s.Path, p.DecodeErrors)
		}
		frames += p.Video().Frames()
	}
	if want := f.Frames[0] + f.Frames[1]; frames != want {
		t.Fatalf("ffprobe counted %d frames, recorded %d", frames, want)
	}
	if !segs[0].Start.Equal(f.Sessions[0].Start) {
		t.Fatalf("first segment starts %v, want %v", segs[0].Start, f.Sessions[0].Start)
	}
}
