package hls

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// testStreams is a Streams over plain streams the tests publish into.
type testStreams struct {
	mu       sync.Mutex
	streams  map[string]*stream.Stream
	released map[string]int
}

func newTestStreams() *testStreams {
	return &testStreams{streams: map[string]*stream.Stream{}, released: map[string]int{}}
}

// stream returns (creating) the camera's stream.
func (ts *testStreams) stream(id string) *stream.Stream {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st, ok := ts.streams[id]
	if !ok {
		st = stream.New(id, stream.Options{})
		ts.streams[id] = st
	}
	return st
}

func (ts *testStreams) BrowserStream(id string) (*stream.Stream, func(), error) {
	if id == "missing" {
		return nil, nil, fmt.Errorf("camera %s is not running", id)
	}
	st := ts.stream(id)
	return st, func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.released[id]++
	}, nil
}

func (ts *testStreams) releases(id string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.released[id]
}

var testPPS = []byte{0x68, 0xce, 0x3c, 0x80}

// videoTrack is an H.264 track of mbW x mbH macroblocks.
func videoTrack(mbW, mbH uint) media.Track {
	return media.Track{ID: 0, Codec: media.CodecH264, ClockRate: 90000,
		SPS: testutil.H264SPS(mbW, mbH), PPS: testPPS, Width: int(mbW * 16), Height: int(mbH * 16)}
}

func aacTrack(id int) media.Track {
	return media.Track{ID: id, Codec: media.CodecAAC, ClockRate: 48000, AACConfig: []byte{0x11, 0x90},
		SampleRate: 48000, ChannelCount: 2}
}

// gen makes synthetic H.264 units: fps frames per second, a keyframe
// every gop frames, keyframes of keySize bytes and others of size bytes.
type gen struct {
	track         media.Track
	fps, gop      int
	size, keySize int
	wall0         time.Time
	n             int
}

func newGen(track media.Track, fps, gop int) *gen {
	return &gen{track: track, fps: fps, gop: gop, size: 300, keySize: 3000,
		wall0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (g *gen) dts(n int) int64 { return int64(n) * 90000 / int64(g.fps) }

func (g *gen) next() *media.AccessUnit {
	n := g.n
	g.n++
	key := n%g.gop == 0
	au := &media.AccessUnit{Track: g.track.ID, DTS: g.dts(n), PTS: g.dts(n), Key: key,
		Wall: g.wall0.Add(time.Duration(g.dts(n)) * time.Second / 90000)}
	if key {
		au.NALUs = [][]byte{g.track.SPS, g.track.PPS, filled(0x65, g.keySize)}
	} else {
		au.NALUs = [][]byte{filled(0x41, g.size)}
	}
	return au
}

func filled(hdr byte, n int) []byte {
	b := make([]byte, n)
	b[0] = hdr
	for i := 1; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// writeN publishes n frames.
func (g *gen) writeN(t testing.TB, p *stream.Publisher, n int) {
	t.Helper()
	for range n {
		if err := p.Write(g.next()); err != nil {
			t.Fatal(err)
		}
	}
}

// testConfig is a fast configuration for unit tests.
func testConfig() Config {
	return Config{SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond,
		StartTimeout: 300 * time.Millisecond}
}

// harness serves a Server's routes directly (no API in front).
type harness struct {
	srv *Server
	ts  *testStreams
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	ts := newTestStreams()
	srv := New(cfg, Deps{Streams: ts})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &harness{srv: srv, ts: ts}
}

// get calls a route handler for camera with the given path tail
// ("live.m3u8?..." or "live/FILE").
func (h *harness) get(t testing.TB, ctx context.Context, camera, tail string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/cameras/"+camera+"/"+tail, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	req := api.Request{Camera: index.Camera{ID: camera}}
	if file, ok := cutPrefix(tail, "live/"); ok {
		r.SetPathValue("file", file)
		h.srv.serveFile(w, r, req)
	} else {
		h.srv.servePlaylist(w, r, req)
	}
	return w.Result()
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func body(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustGet asserts the status and returns the body.
func (h *harness) mustGet(t testing.TB, camera, tail string, status int) string {
	t.Helper()
	res := h.get(t, context.Background(), camera, tail)
	b := body(t, res)
	if res.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d: %s", tail, res.StatusCode, status, b)
	}
	return b
}
