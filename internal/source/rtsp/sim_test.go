package rtsp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"

	"github.com/vigil-video/vigil/internal/testutil"
)

// collector is a stream reader that records what it gets.
type collector struct{ testutil.Collector }

func (c *collector) snapshot() ([][]media.Track, []*media.AccessUnit) {
	begins, units, _ := c.State()
	return begins, units
}

// waitUnits waits until the collector holds n video units.
func (c *collector) waitUnits(t *testing.T, ctx context.Context, n int) []*media.AccessUnit {
	t.Helper()
	for {
		_, units := c.snapshot()
		if len(units) >= n {
			return units
		}
		select {
		case <-ctx.Done():
			t.Fatalf("got %d units, want %d: %v", len(units), n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func startSim(t *testing.T, ctx context.Context, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("sim.Run: %v", err)
		}
	})
	<-s.Ready()
	if s.Addr() == "" {
		t.Fatal("sim did not start")
	}
	return s
}

func TestSourceFromSim(t *testing.T) {
	for _, transport := range []string{TransportTCP, TransportUDP} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			simCtx, stopSim := context.WithCancel(ctx)
			defer stopSim()
			s := startSim(t, simCtx, sim.Config{UDP: true})
			st := stream.New("cam1", stream.Options{})
			col := &collector{}
			st.AddReader(col)
			src := New(Config{URL: s.URL("cam1"), Transport: transport}, st, slog.Default())
			runCtx, stopSrc := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- src.Run(runCtx) }()
			units := col.waitUnits(t, ctx, 25)
			stopSrc()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			begins, _ := col.snapshot()
			if len(begins) != 1 || len(begins[0]) != 1 {
				t.Fatalf("begins = %v", begins)
			}
			tr := begins[0][0]
			if tr.Codec != media.CodecH264 || tr.Width != 768 || tr.Height != 576 || tr.SPS == nil {
				t.Fatalf("track = %+v", tr)
			}
			if !units[0].Key {
				t.Fatal("first unit is not a keyframe")
			}
			for i := 1; i < len(units); i++ {
				if units[i].DTS <= units[i-1].DTS {
					t.Fatalf("dts not increasing at %d: %d after %d", i, units[i].DTS, units[i-1].DTS)
				}
				if d := units[i].DTS - units[i-1].DTS; d != 9000 {
					t.Fatalf("dts step %d at %d, want 9000 (10 fps)", d, i)
				}
			}
		})
	}
}
