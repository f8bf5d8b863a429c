package sim

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"go.uber.org/goleak"

	"github.com/vigil-video/vigil/internal/media"
	rtspsrc "github.com/vigil-video/vigil/internal/source/rtsp"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

func TestMain(m *testing.M) {
	if runSinkIfAsked() {
		return
	}
	goleak.VerifyTestMain(m)
}

func startSim(t *testing.T, ctx context.Context, cfg Config) *Sim {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ctx, s.Run, s.Ready())
	if s.Addr() == "" {
		t.Fatal("sim did not start")
	}
	return s
}

// TestFFprobeReadsSim checks the simulator against ffmpeg's RTSP client.
func TestFFprobeReadsSim(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startSim(t, ctx, Config{Cameras: 2, UDP: true})
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			r, err := testutil.ProbeRTSP(t, s.URL("cam2"), transport)
			if err != nil {
				t.Fatal(err)
			}
			if v := r.Video(); v.CodecName != "h264" || v.Width != 768 || v.Height != 576 {
				t.Fatalf("video %+v", v)
			}
			stderr, err := testutil.DecodeRTSP(t, s.URL("cam1"), transport, 25)
			if transport == "udp" && err == nil && strings.TrimSpace(stderr) != "" {
				// UDP may lose packets when the machine is loaded (the
				// kernel drops what a busy ffmpeg does not read in time):
				// one more try must decode cleanly
				t.Logf("first UDP decode saw loss: %.300s", stderr)
				stderr, err = testutil.DecodeRTSP(t, s.URL("cam1"), transport, 25)
			}
			if err != nil || strings.TrimSpace(stderr) != "" {
				t.Fatalf("decode: %v: %s", err, stderr)
			}
		})
	}
}

// collector records a stream's units.
type collector struct {
	mu    sync.Mutex
	units []*media.AccessUnit
}

func (c *collector) Begin([]media.Track) {}
func (c *collector) End()                {}
func (c *collector) Write(au *media.AccessUnit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.units = append(c.units, au)
}

func (c *collector) snapshot() []*media.AccessUnit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*media.AccessUnit(nil), c.units...)
}

// TestLoopIsContinuous plays a 2.5 s clip past its loop point: the
// timestamps keep the frame interval across it.
func TestLoopIsContinuous(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startSim(t, ctx, Config{Clip: shortClip(t, 25)})
	st := stream.New("cam1", stream.Options{})
	col := &collector{}
	st.AddReader(col)
	src := rtspsrc.New(rtspsrc.Config{URL: s.URL("cam1"), Transport: "tcp"}, st, slog.New(slog.DiscardHandler))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx) }()
	for len(col.snapshot()) < 40 {
		select {
		case <-ctx.Done():
			t.Fatalf("got %d units", len(col.snapshot()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	units := col.snapshot()
	keys := 0
	for i := 1; i < len(units); i++ {
		if d := units[i].DTS - units[i-1].DTS; d != 9000 {
			t.Fatalf("dts step %d at unit %d", d, i)
		}
		if d := units[i].Wall.Sub(units[i-1].Wall); d < 50*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("wall step %v at unit %d", d, i)
		}
		if units[i].Key {
			keys++
		}
	}
	// keyframes of a 25-frame loop with keyframes at 0 and 20: every
	// 2.5 s loop has two
	if keys < 2 {
		t.Fatalf("%d keyframes in %d units", keys, len(units))
	}
}

func TestCamerasAndAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startSim(t, ctx, Config{Names: []string{"gate", "yard"}, User: "u", Pass: "p"})
	if got := strings.Join(s.Names(), ","); got != "gate,yard" {
		t.Fatalf("names %s", got)
	}
	tests := []struct {
		name, url, want string
	}{
		{"ok", "rtsp://u:p@" + s.Addr() + "/yard", ""},
		{"unknown camera", "rtsp://u:p@" + s.Addr() + "/cam1", "404"},
		{"no credentials", "rtsp://" + s.Addr() + "/gate", "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := base.ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _, err = c.Describe(u)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("describe = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{Names: []string{"a", "a"}}); err == nil {
		t.Fatal("duplicate names accepted")
	}
}
