package whep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/transcode"
	"github.com/vigil-video/vigil/internal/transcode/transcodetest"
)

// chromiumPage plays the camera over WHEP and POSTs what the browser
// decoded to /result.
const chromiumPage = `<!doctype html><html><body><script>
async function report(x) { await fetch('/result', {method: 'POST', body: JSON.stringify(x)}); }
(async () => {
  try {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', {direction: 'recvonly'});
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    document.body.appendChild(v);
    pc.ontrack = (e) => { v.srcObject = new MediaStream([e.track]); v.play().catch(() => {}); };
    const t0 = performance.now();
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => {
      if (pc.iceGatheringState === 'complete') r();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); };
      setTimeout(r, 2000);
    });
    const resp = await fetch('WHEP_URL', {method: 'POST', headers: {'Content-Type': 'application/sdp'},
      body: pc.localDescription.sdp});
    const answer = await resp.text();
    if (resp.status !== 201) { await report({error: 'POST ' + resp.status + ': ' + answer}); return; }
    await pc.setRemoteDescription({type: 'answer', sdp: answer});
    let first = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const stats = await pc.getStats();
      let rtp = null, codecs = {};
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') rtp = s;
        if (s.type === 'codec') codecs[s.id] = s.mimeType;
      });
      const decoded = rtp ? (rtp.framesDecoded || 0) : 0;
      if (decoded > 0 && !first) first = performance.now() - t0;
      if (decoded >= WANT || performance.now() - t0 > 12000) {
        await report({decoded, first_ms: first, codec: rtp ? codecs[rtp.codecId] : '',
          keyframes: rtp ? rtp.keyFramesDecoded : 0, width: v.videoWidth, height: v.videoHeight,
          state: pc.connectionState});
        return;
      }
    }
  } catch (e) { await report({error: String(e)}); }
})();
</script></body></html>`

// chromiumResult is what the page reports.
type chromiumResult struct {
	Error     string  `json:"error"`
	Decoded   int     `json:"decoded"`
	FirstMS   float64 `json:"first_ms"`
	Codec     string  `json:"codec"`
	Keyframes int     `json:"keyframes"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	State     string  `json:"state"`
}

// playInChromium opens the WHEP player page for camera in headless
// Chromium and returns what it decoded.
func playInChromium(t *testing.T, e *env, camera string, want int) chromiumResult {
	t.Helper()
	chromium := testutil.RequireTool(t, "chromium")
	results := make(chan chromiumResult, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /player", func(w http.ResponseWriter, _ *http.Request) {
		page := strings.NewReplacer("WHEP_URL", e.http.URL+"/api/v1/cameras/"+camera+"/whep",
			"WANT", fmt.Sprint(want)).Replace(chromiumPage)
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		var res chromiumResult
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			res.Error = "bad result: " + err.Error()
		}
		select {
		case results <- res:
		default:
		}
	})
	// The page's origin must match the WHEP server's (no CORS): serve it
	// from the same httptest server.
	e.extra.Store(mux)

	ctx := testutil.Context(t, 30*time.Second)
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-extensions", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
		"--user-data-dir="+t.TempDir(), e.http.URL+"/player")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case res := <-results:
		return res
	case <-ctx.Done():
		t.Fatalf("no result from chromium; stderr: %s", tail(stderr.String(), 2000))
	}
	return chromiumResult{}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestChromiumPlaysWHEP: real Chromium plays the camera over WHEP and
// decodes H.264 frames, starting at once on the kept GOP.
func TestChromiumPlaysWHEP(t *testing.T) {
	ctx := testutil.Context(t, 40*time.Second)
	cam := newCamera(t, false)
	e := newEnv(t, Config{}, map[string]*stream.Stream{"cam": cam.st})
	camCtx, stopCam := context.WithCancel(ctx)
	camDone := make(chan struct{})
	go func() { defer close(camDone); cam.run(camCtx, 1) }()
	defer func() { stopCam(); <-camDone }()
	waitFor(t, 5*time.Second, "a kept GOP", func() bool {
		_, gop := cam.st.GOP()
		return len(gop) > 3
	})
	res := playInChromium(t, e, "cam", 30)
	t.Logf("chromium: %+v", res)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if res.Decoded < 30 || !strings.EqualFold(res.Codec, "video/H264") || res.Width != cam.clip.Width {
		t.Fatalf("chromium decoded %d frames of %s at %dx%d; want 30 H.264 frames at %dx%d",
			res.Decoded, res.Codec, res.Width, res.Height, cam.clip.Width, cam.clip.Height)
	}
}

// transcodeStreams is the app's BrowserStream: the camera's stream, through
// the transcode manager.
type transcodeStreams struct {
	m   *transcode.Manager
	src map[string]*stream.Stream
}

func (s transcodeStreams) BrowserStream(id string) (*stream.Stream, func(), error) {
	src, ok := s.src[id]
	if !ok {
		return nil, nil, errors.New("unknown camera")
	}
	return s.m.Acquire(id, src)
}

// TestChromiumPlaysTranscodedH265: an H.265 camera plays in Chromium over
// WHEP through the on-demand transcode, and the transcode stops after the
// viewer leaves.
func TestChromiumPlaysTranscodedH265(t *testing.T) {
	clip := transcodetest.H265(t)
	ctx := testutil.Context(t, 40*time.Second)
	m := transcode.New(transcode.Config{Idle: 200 * time.Millisecond}, nil)
	mctx, stopM := context.WithCancel(ctx)
	mDone := make(chan error, 1)
	go func() { mDone <- m.Run(mctx) }()
	defer func() {
		stopM()
		if err := <-mDone; err != nil {
			t.Error(err)
		}
	}()
	src := stream.New("h265cam", stream.Options{})
	pub := src.Publish([]media.Track{clip.Track})
	camDone := make(chan struct{})
	go func() { defer close(camDone); transcodetest.Loop(ctx, pub, clip, 1) }()
	defer func() { pub.Close(); <-camDone }()

	e := newEnv(t, Config{}, nil)
	e.srv.streams = transcodeStreams{m: m, src: map[string]*stream.Stream{"h265cam": src}}
	time.Sleep(500 * time.Millisecond) // let the camera run before the viewer comes
	res := playInChromium(t, e, "h265cam", 50)
	t.Logf("chromium: %+v; transcodes: %+v", res, m.Stats())
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if res.Decoded < 50 || !strings.EqualFold(res.Codec, "video/H264") || res.Width != 640 || res.Height != 360 {
		t.Fatalf("chromium decoded %d frames of %s at %dx%d; want 50 H.264 frames at 640x360",
			res.Decoded, res.Codec, res.Width, res.Height)
	}
	if s := m.Stats(); len(s) != 1 || s[0].Starts != 1 {
		t.Fatalf("transcodes %+v, want one", s)
	}
	e.stop(t) // ends the session, which releases the transcode
	waitFor(t, 5*time.Second, "the transcode to stop", func() bool { return len(m.Stats()) == 0 })
}
