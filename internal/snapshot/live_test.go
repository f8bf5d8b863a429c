package snapshot

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// publishClip publishes frames [0, n) of the embedded clip into a new
// stream, as depacket would (parameter sets before each keyframe).
func publishClip(t *testing.T, n int) *stream.Stream {
	t.Helper()
	c, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	st := stream.New("cam-1", stream.Options{})
	p := st.Publish([]media.Track{{ID: 0, Codec: media.CodecH264, ClockRate: sim.ClockRate,
		SPS: c.SPS, PPS: c.PPS, Width: c.Width, Height: c.Height}})
	t.Cleanup(p.Close)
	for i := 0; i < n; i++ {
		fr := c.Frames[i%len(c.Frames)]
		nalus := fr.NALUs
		if fr.Key {
			nalus = append([][]byte{c.SPS, c.PPS}, nalus...)
		}
		if err := p.Write(&media.AccessUnit{PTS: fr.PTS, DTS: fr.DTS, Key: fr.Key, NALUs: nalus}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// The live snapshot is the last frame published: the clip's frame 35
// (its GOP starts at 21), not the GOP's keyframe; ?width= scales it.
func TestLiveSnapshot(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	st := publishClip(t, 36)
	s := New(Config{}, Deps{Streams: streamMap{"cam-1": st}})
	start := time.Now()
	img := wantJPEG(t, get(t, s, admin, "cam-1", ""))
	t.Logf("live snapshot of a 15-frame GOP (768x576) in %v", time.Since(start).Round(time.Millisecond))
	if b := img.Bounds(); b.Dx() != 768 || b.Dy() != 576 {
		t.Fatalf("picture %v, want 768x576", b)
	}
	if sd := stddev(luma(t, img)); sd < 10 {
		t.Errorf("brightness spread %.1f: the picture is uniform", sd)
	}
	last, key := diff(t, img, clipFrame(t, 35)), diff(t, img, clipFrame(t, 21))
	t.Logf("mean difference to frame 35: %.2f, to the GOP's keyframe 21: %.2f", last, key)
	if last > 3 || last >= key {
		t.Errorf("the snapshot is not the last frame: difference %.2f to frame 35, %.2f to frame 21", last, key)
	}

	small := wantJPEG(t, get(t, s, viewer, "cam-1", "width=320"))
	if b := small.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("scaled picture %v, want 320x240", b)
	}
}

// A camera nobody publishes, or one without a keyframe yet, has no live
// picture: 503.
func TestLiveNotStreaming(t *testing.T) {
	idle := stream.New("idle", stream.Options{})
	noKey := stream.New("nokey", stream.Options{})
	p := noKey.Publish([]media.Track{{ID: 0, Codec: media.CodecH264, ClockRate: 90000}})
	defer p.Close()
	s := New(Config{}, Deps{Streams: streamMap{"idle": idle, "nokey": noKey}})
	for _, cam := range []string{"idle", "nokey", "unknown"} {
		t.Run(cam, func(t *testing.T) {
			w := get(t, s, admin, cam, "")
			wantError(t, w, http.StatusServiceUnavailable)
			if s.peak.Load() != 0 {
				t.Errorf("ffmpeg ran for a camera with no picture")
			}
		})
	}
}
