package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// liveHub is a real RTSPS ingest server with the fake hub's certificate,
// accepting the gateway's credential for one camera.
type liveHub struct {
	h       *fakeHub
	st      *stream.Stream
	col     *testutil.Collector
	refused atomic.Int64
	stop    func()
}

func (l *liveHub) AuthenticateRTSP(user, pass, _ string, _ ingest.Action) bool {
	ok := user == "gw1" && pass == l.h.cred
	if !ok {
		l.refused.Add(1)
	}
	return ok
}

func (l *liveHub) PushStream(id string) (*stream.Stream, error) { return l.LiveStream(id) }

func (l *liveHub) LiveStream(id string) (*stream.Stream, error) {
	if id != l.st.Name() {
		return nil, fmt.Errorf("camera %s: %w", id, ingest.ErrUnknownCamera)
	}
	return l.st, nil
}

// startIngest serves RTSPS for camera on the hub and announces it in the
// hub's config.
func (h *fakeHub) startIngest(t *testing.T, camera string) *liveHub {
	t.Helper()
	l := &liveHub{h: h, st: stream.New(camera, stream.Options{}), col: &testutil.Collector{}}
	l.st.AddReader(l.col)
	addr := l.serve(t, "127.0.0.1:0")
	h.mu.Lock()
	h.cfg.RTSP = "rtsps://" + addr
	h.mu.Unlock()
	return l
}

// serve runs an ingest server on addr until stop (or the test's end) and
// returns its address.
func (l *liveHub) serve(t *testing.T, addr string) string {
	t.Helper()
	srv, err := ingest.New(ingest.Config{Addr: addr, TLSConfig: &tls.Config{Certificates: []tls.Certificate{l.h.cert}}},
		ingest.Deps{Auth: l, Streams: l, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	}
	l.stop = stop
	t.Cleanup(func() {
		if l.stop != nil {
			l.stop()
			l.stop = nil
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("ingest: %v", err)
	}
	return srv.Addr()
}

// down stops the ingest server.
func (l *liveHub) down() {
	l.stop()
	l.stop = nil
}

func (l *liveHub) videoUnits() int {
	begins, units, _ := l.col.State()
	if len(begins) == 0 {
		return 0
	}
	n := 0
	for _, u := range units {
		if u.Track < len(begins[0]) && begins[0][u.Track].IsVideo() {
			n++
		}
	}
	return n
}

// TestLivePush: the gateway pushes the camera's live video to the hub's
// RTSPS ingest (pinned to the enrolled certificate, gateway id and
// credential), and its status says so.
func TestLivePush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	s := startSim(t, ctx, "cam1")
	h := newFakeHub(t, uplink.Camera{ID: "cam1", Source: s.URL("cam1"), Transport: "tcp", Record: true})
	live := h.startIngest(t, "cam1")
	_, stop := runGateway(t, Config{Hub: h.srv.URL, Token: h.pinnedToken(), DataDir: t.TempDir()}, nil, nil)
	waitFor(t, 20*time.Second, "50 live frames at the hub", func() bool { return live.videoUnits() >= 50 })
	// The hub's RTSP goes away and comes back at the same address: live
	// resumes within the push backoff (5 s at most).
	h.mu.Lock()
	addr := strings.TrimPrefix(h.cfg.RTSP, "rtsps://")
	h.mu.Unlock()
	live.down()
	n := live.videoUnits()
	back := time.Now()
	live.serve(t, addr)
	waitFor(t, 10*time.Second, "live frames after the hub's RTSP came back", func() bool { return live.videoUnits() >= n+25 })
	t.Logf("live resumed %v after the hub's RTSP came back", time.Since(back).Round(100*time.Millisecond))
	waitFor(t, 10*time.Second, "a status saying live", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := len(h.status)
		return n > 0 && len(h.status[n-1].Cameras) == 1 && h.status[n-1].Cameras[0].Live && h.status[n-1].Cameras[0].Online
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if live.refused.Load() != 0 {
		t.Fatalf("ingest refused %d attempts", live.refused.Load())
	}
}
