package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
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
	srv, err := ingest.New(ingest.Config{Addr: "127.0.0.1:0", TLSConfig: &tls.Config{Certificates: []tls.Certificate{h.cert}}},
		ingest.Deps{Auth: l, Streams: l, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, context.Background(), srv.Run, srv.Ready())
	h.mu.Lock()
	h.cfg.RTSP = "rtsps://" + srv.Addr()
	h.mu.Unlock()
	return l
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
