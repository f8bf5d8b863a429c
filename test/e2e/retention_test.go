package e2e

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Under a small quota the recordings stay under the high watermark for the
// whole run, the oldest footage goes first, and a storage event says so.
func TestRetentionUnderQuota(t *testing.T) {
	const quota = 3_000_000
	const high = 0.9
	urls := startSim(t, 4)
	var cams strings.Builder
	for i, u := range urls {
		fmt.Fprintf(&cams, "  - {id: q%d, source: %q, transport: tcp}\n", i+1, u)
	}
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, fmt.Sprintf(`record: {segment: 2s}
retention: {max_bytes: %d, high_watermark: %v, low_watermark: 0.6, interval: 500ms}
cameras:
%s`, quota, high, cams.String()))
	started := time.Now()

	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if n := diskUse(filepath.Join(data, "recordings")); n > peak.Load() {
				peak.Store(n)
			}
		}
	}()
	// The four cameras write about 200 kB/s: 30 s is twice the quota.
	time.Sleep(30 * time.Second)
	close(stop)
	<-done

	var ev struct {
		Events []struct{ Type string } `json:"events"`
	}
	h.api("GET", "/api/v1/events?type=storage", nil, &ev, 200)
	h.stop()
	t.Logf("peak recordings size %d bytes, high watermark %d", peak.Load(), int64(quota*high))
	if peak.Load() > int64(quota*high) {
		t.Errorf("recordings reached %d bytes, over the high watermark %d", peak.Load(), int64(quota*high))
	}
	if len(ev.Events) == 0 {
		t.Error("no storage event after deleting footage early")
	}
	for i := range urls {
		id := fmt.Sprintf("q%d", i+1)
		_, segs := checkSegments(t, data, id, 10) // the survivors join: oldest went first
		if !segs[0].Start.After(started.Add(2 * time.Second)) {
			t.Errorf("camera %s still has its first segments (%v): nothing deleted", id, segs[0].Start)
		}
	}
}

// diskUse sums the sizes of the segment files under root.
func diskUse(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
