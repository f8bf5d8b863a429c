package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"go.uber.org/goleak"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testUser = "gw"
	testPass = "s3cret"
)

type fakeAuth struct{}

func (fakeAuth) AuthenticateRTSP(user, pass, _ string, _ Action) bool {
	return user == testUser && pass == testPass
}

// fakeStreams knows cam1..cam3 (pushable) and pulled1 (pulled).
type fakeStreams struct {
	mu sync.Mutex
	m  map[string]*stream.Stream
}

func newFakeStreams() *fakeStreams {
	f := &fakeStreams{m: map[string]*stream.Stream{}}
	for _, id := range []string{"cam1", "cam2", "cam3", "pulled1"} {
		f.m[id] = stream.New(id, stream.Options{})
	}
	return f
}

func (f *fakeStreams) PushStream(id string) (*stream.Stream, error) {
	if strings.HasPrefix(id, "pulled") {
		return nil, fmt.Errorf("camera %s: %w", id, ErrNotPushable)
	}
	return f.LiveStream(id)
}

func (f *fakeStreams) LiveStream(id string) (*stream.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.m[id]; ok {
		return st, nil
	}
	return nil, fmt.Errorf("camera %s: %w", id, ErrUnknownCamera)
}

// collector is a stream reader that records what it gets.
type collector struct{ testutil.Collector }

func (c *collector) state() ([][]media.Track, []*media.AccessUnit, int) { return c.State() }

// videoUnits returns the units of track 0.
func (c *collector) videoUnits() []*media.AccessUnit {
	_, units, _ := c.state()
	var out []*media.AccessUnit
	for _, u := range units {
		if u.Track == 0 {
			out = append(out, u)
		}
	}
	return out
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type testServer struct {
	*Server
	streams *fakeStreams
	events  *events
	url     string // rtsp://user:pass@addr
}

// events is an Observer that records what it hears.
type events struct {
	mu      sync.Mutex
	started []string
	ended   []error
}

func (e *events) PublishStarted(camera, _ string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started = append(e.started, camera)
}

func (e *events) PublishEnded(_ string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended = append(e.ended, err)
}

func (e *events) snapshot() ([]string, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.started...), append([]error(nil), e.ended...)
}

func startServer(t *testing.T, ctx context.Context, cfg Config) *testServer {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = "127.0.0.1:0"
	}
	streams := newFakeStreams()
	ev := &events{}
	s, err := New(cfg, Deps{Auth: fakeAuth{}, Streams: streams, Observer: ev, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ctx, s.Run, s.Ready())
	if s.Addr() == "" {
		t.Fatal("server did not start")
	}
	return &testServer{Server: s, streams: streams, events: ev, url: "rtsp://" + testUser + ":" + testPass + "@" + s.Addr()}
}

func (ts *testServer) collect(camera string) *collector {
	st, _ := ts.streams.LiveStream(camera)
	c := &collector{}
	st.AddReader(c)
	return c
}

func TestFFmpegPublishes(t *testing.T) {
	tests := []struct {
		name   string
		opts   testutil.PushOptions
		codec  media.Codec
		tracks int
	}{
		{"h264 tcp with b-frames", testutil.PushOptions{Frames: 50, BFrames: 2, GOP: 25}, media.CodecH264, 1},
		// UDP may lose packets on a busy machine: only the count is relaxed
		{"h264 udp", testutil.PushOptions{Frames: 50, GOP: 25, Transport: "udp"}, media.CodecH264, 1},
		{"h265 with aac", testutil.PushOptions{Frames: 50, GOP: 25, Codec: "libx265", Audio: true}, media.CodecH265, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ts := startServer(t, ctx, Config{})
			col := ts.collect("cam1")
			p := testutil.StartFFmpegPush(t, ts.url+"/cam1", tt.opts)
			if err := p.Wait(ctx); err != nil {
				t.Fatalf("ffmpeg: %v: %s", err, p.Stderr())
			}
			waitFor(t, ctx, "end of publish", func() bool { _, _, ends := col.state(); return ends == 1 })
			begins, _, _ := col.state()
			if len(begins) != 1 || len(begins[0]) != tt.tracks || begins[0][0].Codec != tt.codec {
				t.Fatalf("begins = %+v", begins)
			}
			if v := begins[0][0]; v.Width != 320 || v.Height != 240 {
				t.Fatalf("video %dx%d", v.Width, v.Height)
			}
			units := col.videoUnits()
			if tt.opts.Transport == "udp" && len(units) >= 45 {
				checkFrames(t, units, len(units), countKeys(units))
				return
			}
			checkFrames(t, units, 50, 2)
			waitFor(t, ctx, "observer", func() bool { _, ended := ts.events.snapshot(); return len(ended) == 1 })
			if started, ended := ts.events.snapshot(); len(started) != 1 || started[0] != "cam1" || ended[0] != nil {
				t.Fatalf("observer heard %v %v", started, ended)
			}
		})
	}
}

// checkFrames checks the count, keyframes and DTS order of video units.
func checkFrames(t *testing.T, units []*media.AccessUnit, frames, keys int) {
	t.Helper()
	if len(units) != frames {
		var pts []int64
		for _, u := range units {
			pts = append(pts, u.PTS/3600)
		}
		t.Fatalf("got %d video frames, want %d: %v", len(units), frames, pts)
	}
	if !units[0].Key {
		t.Fatal("first frame is not a keyframe")
	}
	nkeys := 0
	for i, u := range units {
		if u.Key {
			nkeys++
		}
		if i > 0 && u.DTS <= units[i-1].DTS {
			t.Fatalf("dts not increasing at frame %d: %d after %d", i, u.DTS, units[i-1].DTS)
		}
		if u.DTS > u.PTS {
			t.Fatalf("frame %d: dts %d > pts %d", i, u.DTS, u.PTS)
		}
	}
	if nkeys != keys {
		t.Fatalf("got %d keyframes, want %d", nkeys, keys)
	}
}

// h264Desc is a minimal H.264 description for gortsplib clients.
func h264Desc() *description.Session {
	return &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}},
	}}}
}

func TestPublishRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts := startServer(t, ctx, Config{})
	host := ts.Addr()
	huge := []byte{0x67, 0x42, 0x00, 0x28, 0xda, 0x00, 0x10, 0x00, 0x00, 0x80, 0x19} // 16384x16384
	absurd := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: huge, PPS: []byte{0x68, 0xce, 0x38, 0x80}}},
	}}}
	vp8 := &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{&format.VP8{PayloadTyp: 96}},
	}}}
	good := "rtsp://" + testUser + ":" + testPass + "@" + host
	tests := []struct {
		name string
		url  string
		desc *description.Session
		want string
	}{
		{"unknown camera", good + "/nope", nil, "404"},
		{"pulled camera", good + "/pulled1", nil, "403"},
		{"bad credentials", "rtsp://" + testUser + ":wrong@" + host + "/cam1", nil, "401"},
		{"no credentials", "rtsp://" + host + "/cam1", nil, "401"},
		{"empty path", good + "/", nil, "400"},
		{"absurd resolution", good + "/cam1", absurd, "400"},
		{"unsupported codec", good + "/cam1", vp8, "415"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desc := tt.desc
			if desc == nil {
				desc = h264Desc()
			}
			c := gortsplib.Client{}
			err := c.StartRecording(tt.url, desc)
			if err == nil {
				c.Close()
				t.Fatal("publish accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %s", err, tt.want)
			}
		})
	}
	if st, _ := ts.streams.LiveStream("cam1"); st.Stats().Publishing {
		t.Fatal("cam1 publishing after refusals")
	}
}

func TestGarbageDoesNotDisturbPublisher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts := startServer(t, ctx, Config{})
	col := ts.collect("cam2")
	p := testutil.StartFFmpegPush(t, ts.url+"/cam2", testutil.PushOptions{Frames: 75, GOP: 25})
	waitFor(t, ctx, "first frames", func() bool { return len(col.videoUnits()) >= 5 })

	garbage := []string{
		"\x00\x01\x02\x03garbage\r\n\r\n",
		"DESCRIBE\r\n\r\n",
		"ANNOUNCE rtsp://" + ts.Addr() + "/cam2 RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\nv=0",
		"SETUP rtsp://" + ts.Addr() + "/cam2/trackID=0 RTSP/1.0\r\nCSeq: x\r\nSession: 123\r\n\r\n",
		"$\x00\xff\xff" + strings.Repeat("\xaa", 300),
		"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 200) + "\r\n",
		"RECORD rtsp://" + ts.Addr() + "/cam2 RTSP/1.0\r\nCSeq: 2\r\nSession: deadbeef\r\n\r\n",
		"ANNOUNCE rtsp://" + testUser + ":" + testPass + "@" + ts.Addr() + "/cam2 RTSP/1.0\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\nnot an sdp",
	}
	for _, g := range garbage {
		sendGarbage(t, ts.Addr(), g)
	}
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, p.Stderr())
	}
	waitFor(t, ctx, "end of publish", func() bool { _, _, ends := col.state(); return ends == 1 })
	checkFrames(t, col.videoUnits(), 75, 3)
}

// sendGarbage writes g on a fresh connection and reads until the server
// answers or closes.
func sendGarbage(t *testing.T, addr, g string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write([]byte(g))
	buf := make([]byte, 4096)
	_, _ = c.Read(buf)
}
