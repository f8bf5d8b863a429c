package whep

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// fakeStreams serves plain streams by camera id and counts releases.
type fakeStreams struct {
	mu       sync.Mutex
	streams  map[string]*stream.Stream
	acquired atomic.Int32
	released atomic.Int32
}

func (f *fakeStreams) BrowserStream(id string) (*stream.Stream, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.streams[id]
	if !ok {
		return nil, nil, errors.New("no such camera stream")
	}
	f.acquired.Add(1)
	var once sync.Once
	return st, func() { once.Do(func() { f.released.Add(1) }) }, nil
}

type env struct {
	srv     *Server
	streams *fakeStreams
	http    *httptest.Server
	cancel  context.CancelFunc
	runDone chan error
	// extra serves other paths on the same origin (the Chromium page).
	extra atomic.Pointer[http.ServeMux]
}

// newEnv runs a Server with its routes on an httptest server (127.0.0.1).
// Handlers get the {id} camera as the API would pass it.
func newEnv(t *testing.T, cfg Config, streams map[string]*stream.Stream) *env {
	t.Helper()
	fs := &fakeStreams{streams: streams}
	srv := New(cfg, Deps{Streams: fs, Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))})
	mux := http.NewServeMux()
	for _, rt := range srv.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			rt.Handler(w, r, api.Request{Camera: index.Camera{ID: r.PathValue("id")}})
		})
	}
	e := &env{srv: srv, streams: fs, runDone: make(chan error, 1)}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if x := e.extra.Load(); x != nil {
			x.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	e.http = httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.runDone <- srv.Run(ctx) }()
	t.Cleanup(func() {
		e.stop(t)
		e.http.Close()
	})
	waitFor(t, 2*time.Second, "Run to start", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.ctx != nil
	})
	return e
}

// stop ends Run and checks it returned.
func (e *env) stop(t *testing.T) {
	t.Helper()
	e.cancel()
	select {
	case err, ok := <-e.runDone:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(e.runDone)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return")
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// camera publishes the embedded clip (H.264, 10 fps), looped, with an
// optional Opus track.
type camera struct {
	st     *stream.Stream
	tracks []media.Track
	clip   *sim.Clip
	maxW   atomic.Int64 // longest Publisher.Write, ns
}

func newCamera(t *testing.T, opus bool) *camera {
	t.Helper()
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	tracks := []media.Track{{Codec: media.CodecH264, ClockRate: 90000, SPS: clip.SPS, PPS: clip.PPS,
		Width: clip.Width, Height: clip.Height}}
	if opus {
		tracks = append(tracks, media.Track{ID: 1, Codec: media.CodecOpus, ClockRate: 48000, ChannelCount: 2})
	}
	return &camera{st: stream.New("cam", stream.Options{}), tracks: tracks, clip: clip}
}

// run publishes at speed x real time until ctx ends.
func (c *camera) run(ctx context.Context, speed float64) {
	p := c.st.Publish(c.tracks)
	defer p.Close()
	frameDur := time.Duration(float64(time.Second) / c.clip.FPS / speed)
	var off int64
	start := time.Now()
	for n := 0; ; n++ {
		for _, f := range c.clip.Frames {
			nalus := f.NALUs
			if f.Key {
				nalus = append([][]byte{c.clip.SPS, c.clip.PPS}, nalus...)
			}
			au := &media.AccessUnit{PTS: f.PTS + off, DTS: f.DTS + off, Key: f.Key, NALUs: nalus,
				Wall: start.Add(time.Duration(f.PTS+off) * time.Second / 90000)}
			c.write(p, au)
			if len(c.tracks) > 1 {
				for i := range 5 { // 100 ms of 20 ms Opus packets
					pts := (f.PTS+off)*48000/90000 + int64(i)*960
					c.write(p, &media.AccessUnit{Track: 1, PTS: pts, DTS: pts, Key: true, Payload: []byte{0xfc, 0xff, 0xfe}})
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(frameDur):
			}
		}
		off += c.clip.Duration
	}
}

func (c *camera) write(p *stream.Publisher, au *media.AccessUnit) {
	t0 := time.Now()
	_ = p.Write(au)
	if d := int64(time.Since(t0)); d > c.maxW.Load() {
		c.maxW.Store(d)
	}
}

// client is a pion WHEP client that counts the H.264 frames it receives.
type client struct {
	pc       *webrtc.PeerConnection
	location string
	answer   string
	stall    bool

	mu         sync.Mutex
	frames     int
	firstIDR   bool // the first complete frame holds an IDR
	firstFrame time.Time
	audioPkts  int
}

func newClient(t *testing.T, audio, stall bool) *client {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	a := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := a.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	c := &client{pc: pc, stall: stall}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if audio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(c.onTrack)
	return c
}

func (c *client) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if c.stall {
		return // never read: pion's buffers fill and drop
	}
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			c.mu.Lock()
			c.audioPkts++
			c.mu.Unlock()
		}
	}
	var depack codecs.H264Packet
	var frame []byte
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		b, err := depack.Unmarshal(pkt.Payload)
		if err == nil {
			frame = append(frame, b...)
		}
		if pkt.Marker && len(frame) > 0 {
			c.mu.Lock()
			if c.frames == 0 {
				c.firstIDR = hasIDR(frame)
				c.firstFrame = time.Now()
			}
			c.frames++
			c.mu.Unlock()
			frame = frame[:0]
		}
	}
}

// hasIDR reports whether an Annex-B frame holds an IDR slice (type 5).
func hasIDR(b []byte) bool {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 && b[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}

func (c *client) state() (frames int, firstIDR bool, first time.Time, audio int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.firstIDR, c.firstFrame, c.audioPkts
}

// connect posts the offer and applies the answer.
func (c *client) connect(t *testing.T, base, camera string) {
	t.Helper()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp := post(t, base+"/api/v1/cameras/"+camera+"/whep", "application/sdp", c.pc.LocalDescription().SDP)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST whep: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	c.location = resp.Header.Get("Location")
	if !strings.HasPrefix(c.location, "/api/v1/cameras/"+camera+"/whep/") {
		t.Fatalf("Location %q", c.location)
	}
	c.answer = string(body)
	if !strings.Contains(c.answer, "a=candidate:") {
		t.Fatal("answer has no ICE candidates")
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: c.answer}); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, ctype, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func do(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestWHEPPlays: a WHEP client gets the camera's frames, starting on a
// keyframe; DELETE ends the session, removes its reader and releases the
// stream.
func TestWHEPPlays(t *testing.T) {
	for _, withAudio := range []bool{false, true} {
		name := map[bool]string{false: "video", true: "video+opus"}[withAudio]
		t.Run(name, func(t *testing.T) {
			ctx := testutil.Context(t, 20*time.Second)
			cam := newCamera(t, withAudio)
			e := newEnv(t, Config{}, map[string]*stream.Stream{"cam": cam.st})
			camCtx, stopCam := context.WithCancel(ctx)
			camDone := make(chan struct{})
			go func() { defer close(camDone); cam.run(camCtx, 1) }()
			defer func() { stopCam(); <-camDone }()
			waitFor(t, 5*time.Second, "a kept GOP", func() bool {
				_, gop := cam.st.GOP()
				return len(gop) > 3
			})

			c := newClient(t, withAudio, false)
			start := time.Now()
			c.connect(t, e.http.URL, "cam")
			const want = 20 // 2 s of the 10 fps clip, after the GOP burst
			waitFor(t, 10*time.Second, "frames over WebRTC", func() bool {
				n, _, _, _ := c.state()
				return n >= want
			})
			n, idr, first, audio := c.state()
			t.Logf("first frame %v after the POST; %d frames in %v; %d audio packets",
				first.Sub(start).Round(time.Millisecond), n, time.Since(start).Round(time.Millisecond), audio)
			if !idr {
				t.Fatal("the first frame received has no IDR slice")
			}
			if withAudio {
				waitFor(t, 5*time.Second, "audio packets", func() bool {
					_, _, _, a := c.state()
					return a > 10
				})
				if !strings.Contains(strings.ToLower(c.answer), "opus/48000") {
					t.Fatal("answer has no Opus")
				}
			}
			if e.srv.Sessions() != 1 || cam.st.Stats().Readers != 1 {
				t.Fatalf("sessions %d, readers %d; want 1, 1", e.srv.Sessions(), cam.st.Stats().Readers)
			}

			resp := do(t, http.MethodDelete, e.http.URL+c.location)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("DELETE: %d", resp.StatusCode)
			}
			if e.srv.Sessions() != 0 || cam.st.Stats().Readers != 0 || e.streams.released.Load() != 1 {
				t.Fatalf("after DELETE: sessions %d, readers %d, released %d; want 0, 0, 1",
					e.srv.Sessions(), cam.st.Stats().Readers, e.streams.released.Load())
			}
			resp = do(t, http.MethodDelete, e.http.URL+c.location)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("second DELETE: %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestWHEPStalledViewer: a viewer that never reads does not slow the
// publisher or another viewer.
func TestWHEPStalledViewer(t *testing.T) {
	ctx := testutil.Context(t, 20*time.Second)
	cam := newCamera(t, false)
	e := newEnv(t, Config{}, map[string]*stream.Stream{"cam": cam.st})
	camCtx, stopCam := context.WithCancel(ctx)
	camDone := make(chan struct{})
	go func() { defer close(camDone); cam.run(camCtx, 2) }()
	defer func() { stopCam(); <-camDone }()

	stalled := newClient(t, false, true)
	stalled.connect(t, e.http.URL, "cam")
	good := newClient(t, false, false)
	good.connect(t, e.http.URL, "cam")
	waitFor(t, 10*time.Second, "frames at the reading viewer", func() bool {
		n, _, _, _ := good.state()
		return n >= 40
	})
	if n, _, _, _ := stalled.state(); n != 0 {
		t.Fatalf("stalled viewer read %d frames", n)
	}
	if d := time.Duration(cam.maxW.Load()); d > 20*time.Millisecond {
		t.Fatalf("a publisher write took %v with a stalled viewer", d)
	}
	if e.srv.Sessions() != 2 {
		t.Fatalf("sessions = %d, want 2", e.srv.Sessions())
	}
	t.Logf("longest publisher write: %v", time.Duration(cam.maxW.Load()))
}

// TestWHEPRunEndClosesSessions: when Run ends every session ends, its
// reader goes and its stream is released.
func TestWHEPRunEndClosesSessions(t *testing.T) {
	ctx := testutil.Context(t, 20*time.Second)
	cam := newCamera(t, false)
	e := newEnv(t, Config{}, map[string]*stream.Stream{"cam": cam.st})
	camCtx, stopCam := context.WithCancel(ctx)
	camDone := make(chan struct{})
	go func() { defer close(camDone); cam.run(camCtx, 2) }()
	defer func() { stopCam(); <-camDone }()
	c := newClient(t, false, false)
	c.connect(t, e.http.URL, "cam")
	waitFor(t, 10*time.Second, "frames", func() bool {
		n, _, _, _ := c.state()
		return n > 5
	})
	e.stop(t)
	if e.srv.Sessions() != 0 || cam.st.Stats().Readers != 0 || e.streams.released.Load() != 1 {
		t.Fatalf("after Run: sessions %d, readers %d, released %d", e.srv.Sessions(),
			cam.st.Stats().Readers, e.streams.released.Load())
	}
	resp := post(t, e.http.URL+"/api/v1/cameras/cam/whep", "application/sdp", "v=0\r\n")
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("POST after Run: %d", resp.StatusCode)
	}
}

// TestWHEPConnectTimeout: a peer that never completes ICE is dropped.
func TestWHEPConnectTimeout(t *testing.T) {
	cam := newCamera(t, false)
	cam.st.Publish(cam.tracks)
	e := newEnv(t, Config{ConnectTimeout: 500 * time.Millisecond}, map[string]*stream.Stream{"cam": cam.st})
	fa := &fakeAudit{}
	e.srv.audit = fa
	c := newClient(t, false, false)
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, e.http.URL+"/api/v1/cameras/cam/whep", "application/sdp", offer.SDP)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	waitFor(t, 5*time.Second, "the unconnected session to end", func() bool {
		return e.srv.Sessions() == 0 && e.streams.released.Load() == 1
	})
	// The view's end is in the audit trail (the API recorded its start).
	got := fa.entries()
	if len(got) != 1 || got[0].Action != "live_stop" || got[0].Camera != "cam" || got[0].Detail["ended"] != "connect timeout" {
		t.Fatalf("audit entries %+v, want one live_stop ended by the connect timeout", got)
	}
}

// fakeAudit keeps what the server records.
type fakeAudit struct {
	mu sync.Mutex
	es []audit.Entry
}

func (f *fakeAudit) Record(_ context.Context, e audit.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.es = append(f.es, e)
	return nil
}

func (f *fakeAudit) entries() []audit.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]audit.Entry(nil), f.es...)
}

// validOffer is a browser-like offer made by a pion client.
func validOffer(t *testing.T) string {
	t.Helper()
	c := newClient(t, false, false)
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

// TestWHEPErrors: bad requests get JSON 4xx/5xx answers.
func TestWHEPErrors(t *testing.T) {
	cam := newCamera(t, false)
	cam.st.Publish(cam.tracks)
	idle := stream.New("idle", stream.Options{}) // nobody publishes
	h265 := stream.New("h265", stream.Options{})
	h265.Publish([]media.Track{{Codec: media.CodecH265, ClockRate: 90000}})
	e := newEnv(t, Config{MaxSessions: 1, StartTimeout: 200 * time.Millisecond, ConnectTimeout: 10 * time.Second},
		map[string]*stream.Stream{"cam": cam.st, "idle": idle, "h265": h265})
	offer := validOffer(t)
	audioOnly := strings.Split(offer, "m=video")[0]
	vp8Only := strings.NewReplacer("H264", "XXXX").Replace(offer)

	cases := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		status int
	}{
		{"wrong content type", "POST", "/api/v1/cameras/cam/whep", "application/json", `{"sdp":"x"}`, 415},
		{"no content type", "POST", "/api/v1/cameras/cam/whep", "", offer, 415},
		{"garbage sdp", "POST", "/api/v1/cameras/cam/whep", "application/sdp", "hello", 400},
		{"empty body", "POST", "/api/v1/cameras/cam/whep", "application/sdp", "", 400},
		{"huge body", "POST", "/api/v1/cameras/cam/whep", "application/sdp", strings.Repeat("a", maxOffer+1), 413},
		{"no video section", "POST", "/api/v1/cameras/cam/whep", "application/sdp", audioOnly, 400},
		{"no h264 in offer", "POST", "/api/v1/cameras/cam/whep", "application/sdp", vp8Only, 400},
		{"unknown stream", "POST", "/api/v1/cameras/nope/whep", "application/sdp", offer, 503},
		{"not streaming", "POST", "/api/v1/cameras/idle/whep", "application/sdp", offer, 503},
		{"h265 without transcode", "POST", "/api/v1/cameras/h265/whep", "application/sdp", offer, 503},
		{"unknown session", "DELETE", "/api/v1/cameras/cam/whep/0123", "", "", 404},
		{"trickle ice", "PATCH", "/api/v1/cameras/cam/whep/0123", "application/trickle-ice-sdpfrag", "a=x", 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, e.http.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error, Code string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == "" {
				t.Fatalf("status %d: body is not a JSON error (%v)", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body.Error, c.status)
			}
		})
	}
	if e.srv.Sessions() != 0 || e.streams.acquired.Load() != e.streams.released.Load() {
		t.Fatalf("after failures: sessions %d, acquired %d, released %d", e.srv.Sessions(),
			e.streams.acquired.Load(), e.streams.released.Load())
	}

	// The cap: one session is allowed, the second gets 429.
	resp := post(t, e.http.URL+"/api/v1/cameras/cam/whep", "application/sdp", offer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first session: %d", resp.StatusCode)
	}
	resp = post(t, e.http.URL+"/api/v1/cameras/cam/whep", "application/sdp", validOffer(t))
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("past the cap: %d, want 429", resp.StatusCode)
	}
}

func FuzzReadOffer(f *testing.F) {
	f.Add("application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
	f.Add("application/sdp", "hello")
	f.Add("application/json", "{}")
	f.Add("application/sdp; charset=utf-8", "v=0\r\nm=video 0 RTP/AVP 0\r\n")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		offer, status, msg := readOffer(r)
		if status == 0 && (offer != body || msg != "") {
			t.Fatal("accepted offer differs from the body")
		}
		if status != 0 && (status < 400 || status > 499 || msg == "") {
			t.Fatalf("status %d msg %q", status, msg)
		}
	})
}
