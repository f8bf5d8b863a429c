package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// The hub pulls a third-party RTSP server (GStreamer) over TCP and UDP and
// records it: every segment decodes, frame counts match durations, and the
// segments join with no gap.
func TestPullGStreamerCamera(t *testing.T) {
	cases := []struct {
		name, transport string
		opts            testutil.GstOptions
		tracks          int // recorded tracks (G.711 is dropped)
	}{
		{"h264 aac tcp", "tcp", testutil.GstOptions{Audio: "aac"}, 2},
		{"h264 udp", "udp", testutil.GstOptions{}, 1},
		{"h265 opus tcp", "tcp", testutil.GstOptions{Codec: testutil.GstH265, Audio: "opus"}, 2},
		{"h264 g711 tcp", "tcp", testutil.GstOptions{Audio: "pcmu"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := testutil.StartGstCamera(t, tc.opts)
			data := filepath.Join(t.TempDir(), "data")
			h := startHub(t, data, fmt.Sprintf(`record: {segment: 3s}
cameras: [{id: gst, source: %q, transport: %s}]
`, url, tc.transport))
			h.waitState("gst", "online", 20*time.Second)
			start := time.Now()
			time.Sleep(8 * time.Second)
			tl := h.recordings("gst", start.Add(-time.Minute), time.Now())
			h.stop()
			if len(tl.Spans) != 1 {
				t.Errorf("timeline %+v, want one span", tl)
			}
			frames, segs := checkSegments(t, data, "gst", 25)
			if len(segs) < 2 || frames < 6*25 {
				t.Fatalf("%d segments, %d frames: expected at least 2 and 150", len(segs), frames)
			}
			p := testutil.FFprobe(t, filepath.Join(data, "recordings", segs[0].Path))
			if len(p.Streams) != tc.tracks {
				t.Errorf("%d streams in the recording, want %d: %+v", len(p.Streams), tc.tracks, p.Streams)
			}
		})
	}
}
