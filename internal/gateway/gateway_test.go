package gateway

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// fastBackoff keeps retries quick in tests.
var fastBackoff = supervise.Backoff{Min: 100 * time.Millisecond, Max: 500 * time.Millisecond}

// runGateway runs a gateway until the returned stop func is called (or
// the test ends); stop returns Run's error.
func runGateway(t *testing.T, cfg Config, log *slog.Logger, hook func(string, *stream.Stream)) (*Gateway, func() error) {
	t.Helper()
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = 200 * time.Millisecond
	}
	cfg.SourceBackoff, cfg.PushBackoff, cfg.UploadBackoff = fastBackoff, fastBackoff, fastBackoff
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	g.onStream = hook
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("gateway did not stop within 20 s")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return g, stop
}

// startSim serves the embedded clip as camera names on 127.0.0.1:0.
func startSim(t *testing.T, ctx context.Context, names ...string) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Names: names})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ctx, s.Run, s.Ready())
	return s
}

// frameCounter counts the video frames a camera delivered into the
// gateway's stream, from each session's first keyframe (where fragments
// start).
type frameCounter struct {
	mu     sync.Mutex
	video  map[int]bool
	keyed  bool
	frames int
}

func (c *frameCounter) Begin(tracks []media.Track) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.video = map[int]bool{}
	for _, tr := range tracks {
		c.video[tr.ID] = tr.IsVideo()
	}
	c.keyed = false
}

func (c *frameCounter) Write(au *media.AccessUnit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.video[au.Track] {
		return
	}
	c.keyed = c.keyed || au.Key
	if c.keyed {
		c.frames++
	}
}

func (c *frameCounter) End() {}

func (c *frameCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// checkOrder checks seqs increase by one (no drops in these runs) and
// each fragment starts where the previous one ended (within 1 ms).
func checkOrder(t *testing.T, frags []uplink.Fragment) {
	t.Helper()
	for i := 1; i < len(frags); i++ {
		a, b := frags[i-1], frags[i]
		if b.Seq != a.Seq+1 {
			t.Fatalf("fragment %d: seq %d after %d", i, b.Seq, a.Seq)
		}
		if gap := b.Start.Sub(a.Start.Add(a.Duration)); gap > time.Millisecond || gap < -time.Millisecond {
			t.Fatalf("fragment seq %d starts %v after the end of seq %d", b.Seq, gap, a.Seq)
		}
	}
}

// probeFragments writes init + fragments to a file and ffprobes it.
func probeFragments(t *testing.T, frags []uplink.Fragment) testutil.ProbeResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "uploaded.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(frags[0].Init); err != nil {
		t.Fatal(err)
	}
	for _, fr := range frags {
		if string(fr.Init) != string(frags[0].Init) {
			t.Fatalf("seq %d has another init", fr.Seq)
		}
		if _, err := f.Write(fr.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return testutil.FFprobe(t, path)
}

// spoolPending returns the unacknowledged fragments in g's spool (-1
// before Run opened it).
func spoolPending(g *Gateway) int {
	select {
	case <-g.Ready():
		return g.spool.Stats().Fragments
	default:
		return -1
	}
}

// TestCameraToHub pulls a simulated camera through a gateway into the fake
// hub, with an uplink outage in the middle: everything recorded reaches
// the hub once, in order, contiguous, decodable, with every frame the
// camera sent, and the spool ends empty.
func TestCameraToHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	s := startSim(t, simCtx, "cam1")
	h := newFakeHub(t, uplink.Camera{ID: "cam1", Source: s.URL("cam1"), Transport: "tcp", Record: true})
	counter := &frameCounter{}
	var logs testutil.LogBuffer
	g, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: t.TempDir()},
		slog.New(slog.NewTextHandler(&logs, nil)), func(_ string, st *stream.Stream) { st.AddReader(counter) })

	waitFor(t, 20*time.Second, "3 fragments at the hub", func() bool { return len(h.fragments("cam1")) >= 3 })
	h.failing.Store(true)
	before := len(h.fragments("cam1"))
	waitFor(t, 20*time.Second, "a backlog of 3 fragments", func() bool { return spoolPending(g) >= 3 })
	if n := len(h.fragments("cam1")); n != before {
		t.Fatalf("the hub got fragments while failing: %d -> %d", before, n)
	}
	h.failing.Store(false)
	waitFor(t, 20*time.Second, "the backlog to drain", func() bool { n := spoolPending(g); return n >= 0 && n <= 1 })
	stopSim()
	// The camera is gone: its last fragment is flushed, spooled and uploaded.
	waitFor(t, 20*time.Second, "the last fragment", func() bool {
		g.mu.Lock()
		playing := g.pipes["cam1"].src.Status().Playing
		g.mu.Unlock()
		return !playing && g.queued.Load() == 0 && spoolPending(g) == 0
	})
	frags := h.fragments("cam1")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if h.duplicates() != 0 {
		t.Fatalf("%d fragments sent twice", h.duplicates())
	}
	if frags[0].Seq != 1 {
		t.Fatalf("first seq %d", frags[0].Seq)
	}
	checkOrder(t, frags)
	pr := probeFragments(t, frags)
	if pr.DecodeErrors != "" {
		t.Fatalf("decode errors: %s", pr.DecodeErrors)
	}
	if got, want := pr.Video().Frames(), counter.count(); got != want {
		t.Fatalf("ffprobe counts %d frames in %d fragments, the camera sent %d", got, len(frags), want)
	}
	h.mu.Lock()
	nStatus := len(h.status)
	var last uplink.Status
	if nStatus > 0 {
		last = h.status[nStatus-1]
	}
	h.mu.Unlock()
	if nStatus == 0 || len(last.Cameras) != 1 || last.Cameras[0].ID != "cam1" || last.Origin == "" {
		t.Fatalf("status reports: %d, last %+v", nStatus, last)
	}
	t.Logf("%d fragments, %d frames, %d status reports", len(frags), counter.count(), nStatus)
}
