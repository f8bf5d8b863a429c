package rtsp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// pull runs a source on url until the collector holds n video units, and
// returns what it collected.
func pull(t *testing.T, ctx context.Context, url, transport string, n int) *collector {
	t.Helper()
	st := stream.New("cam", stream.Options{})
	col := &collector{}
	st.AddReader(col)
	src := New(Config{URL: url, Transport: transport}, st, slog.New(slog.DiscardHandler))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	col.waitVideo(t, ctx, n)
	if !src.Status().Playing {
		t.Error("status does not say playing")
	}
	return col
}

func (c *collector) waitVideo(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for len(c.video()) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("got %d video units, want %d", len(c.video()), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *collector) video() []*media.AccessUnit {
	_, units := c.snapshot()
	var out []*media.AccessUnit
	for _, u := range units {
		if u.Track == 0 {
			out = append(out, u)
		}
	}
	return out
}

// checkVideo checks keyframe start, strictly increasing DTS and a
// plausible frame interval.
func checkVideo(t *testing.T, units []*media.AccessUnit, step int64) {
	t.Helper()
	if !units[0].Key {
		t.Fatal("first unit is not a keyframe")
	}
	for i := 1; i < len(units); i++ {
		d := units[i].DTS - units[i-1].DTS
		if d <= 0 || d > 3*step {
			t.Fatalf("dts step %d at unit %d (frame interval %d)", d, i, step)
		}
		if units[i].Wall.Before(units[i-1].Wall.Add(-time.Second)) {
			t.Fatalf("wall clock went back at unit %d", i)
		}
	}
}

// TestSourceFromGStreamer pulls from GStreamer's RTSP server, a camera
// implementation nobody here wrote.
func TestSourceFromGStreamer(t *testing.T) {
	tests := []struct {
		name      string
		opts      testutil.GstOptions
		transport string
		codec     media.Codec
		audio     media.Codec
	}{
		{"h264 tcp", testutil.GstOptions{}, TransportTCP, media.CodecH264, media.CodecUnknown},
		{"h264 udp", testutil.GstOptions{}, TransportUDP, media.CodecH264, media.CodecUnknown},
		{"h264 auto with aac", testutil.GstOptions{Audio: "aac"}, TransportAuto, media.CodecH264, media.CodecAAC},
		{"h265 tcp with opus", testutil.GstOptions{Codec: testutil.GstH265, Audio: "opus"}, TransportTCP, media.CodecH265, media.CodecOpus},
		{"h264 udp with pcmu and auth", testutil.GstOptions{Audio: "pcmu", User: "admin", Pass: "hunter22"}, TransportUDP, media.CodecH264, media.CodecG711U},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			url := testutil.StartGstCamera(t, tt.opts)
			col := pull(t, ctx, url, tt.transport, 30)
			begins, units := col.snapshot()
			tracks := begins[0]
			if tracks[0].Codec != tt.codec || tracks[0].Width != 640 || tracks[0].Height != 360 {
				t.Fatalf("video track %+v", tracks[0])
			}
			if tt.audio != media.CodecUnknown {
				if len(tracks) != 2 || tracks[1].Codec != tt.audio {
					t.Fatalf("tracks %+v, want audio %v", tracks, tt.audio)
				}
				if !hasTrack(units, 1) {
					t.Fatal("no audio units")
				}
			}
			checkVideo(t, col.video(), 90000/25)
		})
	}
}

func hasTrack(units []*media.AccessUnit, id int) bool {
	for _, u := range units {
		if u.Track == id {
			return true
		}
	}
	return false
}
