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
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			url := testutil.StartGstCamera(t, testutil.GstOptions{Audio: "aac"})
			data := filepath.Join(t.TempDir(), "data")
			h := startHub(t, data, fmt.Sprintf(`record: {segment: 3s}
cameras: [{id: gst, source: %q, transport: %s}]
`, url, tr))
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
		})
	}
}
