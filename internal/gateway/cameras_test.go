package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/uplink"
)

// TestCameraListCached: the hub's camera list is cached (0600), so a
// gateway restarted while the hub is down still runs its cameras; local
// cameras are added to the hub's.
func TestCameraListCached(t *testing.T) {
	dir := t.TempDir()
	h := newFakeHub(t, deadCamera("a"))
	local := deadCamera("local")
	g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: dir}, nil, nil)
	waitFor(t, 10*time.Second, "camera a", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.pipes["a"] != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, CacheFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, CacheFile))
	if !strings.Contains(string(b), `"a"`) {
		t.Fatalf("cache holds %s", b)
	}

	h.failing.Store(true)
	g, stop = runGateway(t, Config{DataDir: dir, Cameras: []uplink.Camera{local}}, nil, nil)
	waitFor(t, 10*time.Second, "cameras a and local with the hub down", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.pipes["a"] != nil && g.pipes["local"] != nil
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestEnqueueBounded(t *testing.T) {
	cases := []struct {
		name       string
		queueBytes int64
		slots      int
		sizes      []int
		wantQueued int
		wantDrops  uint64
	}{
		{name: "fits", queueBytes: 1000, slots: 4, sizes: []int{100, 100, 100}, wantQueued: 3},
		{name: "bytes bound", queueBytes: 250, slots: 4, sizes: []int{100, 100, 100, 10}, wantQueued: 3, wantDrops: 1},
		{name: "slots bound", queueBytes: 1000, slots: 2, sizes: []int{100, 100, 100}, wantQueued: 2, wantDrops: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(Config{DataDir: t.TempDir(), QueueBytes: tc.queueBytes}, nil)
			if err != nil {
				t.Fatal(err)
			}
			g.queue = make(chan spoolJob, tc.slots)
			for _, n := range tc.sizes {
				g.enqueue("a", record.Fragment{Init: []byte("i"), Data: make([]byte, n)})
			}
			if len(g.queue) != tc.wantQueued || g.queueDrops.Load() != tc.wantDrops {
				t.Fatalf("queued %d, dropped %d; want %d, %d", len(g.queue), g.queueDrops.Load(), tc.wantQueued, tc.wantDrops)
			}
			var sum int64
			for range len(g.queue) {
				sum += int64(len((<-g.queue).f.Data))
			}
			if g.queued.Load() != sum {
				t.Fatalf("queued bytes %d, want %d", g.queued.Load(), sum)
			}
		})
	}
}
