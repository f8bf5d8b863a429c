package ingest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/vigil-video/vigil/internal/depacket"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	rtspsrc "github.com/vigil-video/vigil/internal/source/rtsp"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestSimPushAndRestream publishes with the load generator, then reads
// the camera back through the hub with ffmpeg and with Vigil's own pull
// source.
func TestSimPushAndRestream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts := startServer(t, ctx, Config{})
	cols := []*collector{ts.collect("cam1"), ts.collect("cam2")}

	pushCtx, stopPush := context.WithCancel(ctx)
	pushed := make(chan sim.PushResult, 1)
	go func() {
		res, err := sim.Push(pushCtx, sim.PushConfig{Target: "rtsp://" + ts.Addr(), Cameras: 2, User: testUser, Pass: testPass})
		if err != nil {
			t.Errorf("Push: %v", err)
		}
		pushed <- res
	}()
	waitFor(t, ctx, "published frames", func() bool { return len(cols[1].videoUnits()) >= 3 })

	for _, transport := range []string{"tcp", "udp"} {
		stderr, err := testutil.DecodeRTSP(t, ts.url+"/cam1", transport, 30)
		if err != nil || strings.TrimSpace(stderr) != "" {
			t.Fatalf("ffmpeg read over %s: %v: %s", transport, err, stderr)
		}
	}
	pullThroughHub(t, ctx, ts.url+"/cam2")

	stopPush()
	res := <-pushed
	for i, col := range cols {
		waitFor(t, ctx, "end of publish", func() bool { _, _, ends := col.state(); return ends >= 1 })
		units := col.videoUnits()
		// a frame in flight when the push stopped may be lost
		if got := uint64(len(units)); got+1 < res.Frames[i] || got > res.Frames[i] {
			t.Fatalf("stream %d: received %d frames, pushed %d", i, got, res.Frames[i])
		}
		checkFrames(t, units, len(units), countKeys(units))
	}
}

func countKeys(units []*media.AccessUnit) int {
	n := 0
	for _, u := range units {
		if u.Key {
			n++
		}
	}
	return n
}

// pullThroughHub reads url with source/rtsp and checks frames arrive.
func pullThroughHub(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	st := stream.New("pull", stream.Options{})
	col := &collector{}
	st.AddReader(col)
	src := rtspsrc.New(rtspsrc.Config{URL: url, Transport: "tcp"}, st, slog.New(slog.DiscardHandler))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx) }()
	waitFor(t, ctx, "pulled frames", func() bool { return len(col.videoUnits()) >= 15 })
	stop()
	if err := <-done; err != nil {
		t.Fatalf("source: %v", err)
	}
	begins, _, _ := col.state()
	if len(begins) == 0 || begins[0][0].Width != 768 {
		t.Fatalf("pulled tracks %+v", begins)
	}
	units := col.videoUnits()
	checkFrames(t, units, len(units), countKeys(units))
}

func TestRestreamNeedsAuthAndPublisher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts := startServer(t, ctx, Config{})
	tests := []struct{ name, url, want string }{
		{"no credentials", "rtsp://" + ts.Addr() + "/cam1", "401"},
		{"not publishing", ts.url + "/cam1", "404"},
		{"unknown camera", ts.url + "/nope", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gortsplib.Client{Scheme: "rtsp", Host: ts.Addr()}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			u, err := base.ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Describe(u)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("describe = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestNewestPublisherWins(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts := startServer(t, ctx, Config{})
	col := ts.collect("cam3")
	first, stopFirst := context.WithCancel(ctx)
	defer stopFirst()
	errs := make(chan error, 2)
	go func() {
		_, err := sim.Push(first, sim.PushConfig{Target: ts.url, Cameras: 1, Prefix: "cam3-"})
		errs <- err
	}()
	_ = first
	// Prefix "cam3-" makes /cam3-1, unknown: the push fails with 404.
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("push to unknown camera = %v", err)
	}
	a, stopA := context.WithCancel(ctx)
	defer stopA()
	go func() {
		_, err := sim.Push(a, sim.PushConfig{Target: ts.url, Cameras: 3})
		errs <- err
	}()
	waitFor(t, ctx, "first publisher", func() bool { return len(col.videoUnits()) >= 3 })
	b, stopB := context.WithCancel(ctx)
	go func() {
		_, err := sim.Push(b, sim.PushConfig{Target: ts.url, Cameras: 3})
		errs <- err
	}()
	// the first publisher of cam3 is dropped: its push ends with an error
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("first publisher ended without error")
		}
	case <-ctx.Done():
		t.Fatal("first publisher was not dropped")
	}
	waitFor(t, ctx, "second session", func() bool { begins, _, _ := col.state(); return len(begins) >= 2 })
	waitFor(t, ctx, "takeover reported", func() bool {
		_, ended := ts.events.snapshot()
		for _, err := range ended {
			if errors.Is(err, depacket.ErrReplaced) {
				return true
			}
		}
		return false
	})
	stopB()
	stopA()
	<-errs
}
