package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kill -9 the hub while 4 cameras record; after a restart every file
// plays, the index matches the files, and at most ~1 s per camera is lost.
func TestKill9WhileRecording(t *testing.T) {
	urls := startSim(t, 4)
	var cams strings.Builder
	for i, u := range urls {
		fmt.Fprintf(&cams, "  - {id: c%d, source: %q, transport: tcp}\n", i+1, u)
	}
	conf := "record: {segment: 4s}\ncameras:\n" + cams.String()
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, conf)
	for i := range urls {
		h.waitState(fmt.Sprintf("c%d", i+1), "online", 20*time.Second)
	}
	time.Sleep(7*time.Second + 300*time.Millisecond)
	killedAt := time.Now()
	h.kill()

	h2 := startHub(t, data, conf)
	if !strings.Contains(h2.Stderr(), "recovered segment") {
		t.Errorf("restart did not recover the open segments:\n%s", h2.Stderr())
	}
	h2.stop()
	for i := range urls {
		id := fmt.Sprintf("c%d", i+1)
		_, segs := checkSegmentsAllowingRestart(t, data, id, 10, killedAt)
		var lastBefore time.Time
		for _, s := range segs {
			if s.Start.Before(killedAt) && s.End.After(lastBefore) {
				lastBefore = s.End
			}
		}
		lost := killedAt.Sub(lastBefore)
		t.Logf("camera %s: %v of footage lost at kill -9", id, lost.Round(time.Millisecond))
		if lost > 1500*time.Millisecond {
			t.Errorf("camera %s lost %v at kill -9, want about 1 s at most", id, lost)
		}
	}
}

// checkSegmentsAllowingRestart is checkSegments, except that the segments
// on either side of the restart may be apart.
func checkSegmentsAllowingRestart(t *testing.T, data, camera string, fps float64, restart time.Time) (int, []indexSegment) {
	t.Helper()
	var before, after []indexSegment
	all := indexSegments(t, data, camera)
	for _, s := range all {
		if s.Start.Before(restart) {
			before = append(before, s)
		} else {
			after = append(after, s)
		}
	}
	n := checkList(t, data, before, fps) + checkList(t, data, after, fps)
	return n, all
}
