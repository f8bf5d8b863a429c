package playback

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// hlsPage buffers {{SRC}} (a playlist with hls.js, or with {{MODE}} "src"
// a file in <video src>), plays it at 4x speed and posts what happened to
// /test/result.
const hlsPage = `<!doctype html><html><body><video id=v muted playsinline></video>
<script src="/test/hls.min.js"></script><script>
const v = document.getElementById('v'), errors = [];
let done = false;
function report(why) {
  if (done) return; done = true;
  const b = [];
  for (let i = 0; i < v.buffered.length; i++) b.push([v.buffered.start(i), v.buffered.end(i)]);
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
  fetch('/test/result', {method: 'POST', body: JSON.stringify({why, errors, buffered: b,
    currentTime: v.currentTime, duration: v.duration, ended: v.ended,
    frames: q.totalVideoFrames || 0, dropped: q.droppedVideoFrames || 0,
    mse: MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"')})});
}
function play() { v.playbackRate = 4; v.play().catch(e => errors.push('play: ' + e)); }
v.addEventListener('ended', () => report('ended'));
setTimeout(() => report('timeout'), 60000);
if ('{{MODE}}' === 'src') {
  // Play (fast) once the whole file is buffered.
  const wait = setInterval(() => {
    if (v.buffered.length && v.duration && v.buffered.end(v.buffered.length - 1) >= v.duration - 0.05) {
      clearInterval(wait); play();
    }
  }, 100);
  v.addEventListener('error', () => { errors.push('media error ' + (v.error && v.error.code)); report('fatal'); });
  v.preload = 'auto';
  v.src = '{{SRC}}';
} else if (!Hls.isSupported()) {
  report('hls.js not supported');
} else {
  const hls = new Hls({enableWorker: false, maxBufferLength: 120, maxMaxBufferLength: 120});
  hls.on(Hls.Events.ERROR, (e, d) => { errors.push(d.type + '/' + d.details + (d.fatal ? ' FATAL' : ''));
    if (d.fatal) report('fatal'); });
  // Play (fast) once everything is buffered: a stall then means a hole.
  hls.on(Hls.Events.BUFFER_EOS, play);
  hls.loadSource('{{SRC}}');
  hls.attachMedia(v);
}
</script></body></html>`

type hlsResult struct {
	Why         string       `json:"why"`
	Errors      []string     `json:"errors"`
	Buffered    [][2]float64 `json:"buffered"`
	CurrentTime float64      `json:"currentTime"`
	Duration    float64      `json:"duration"`
	Ended       bool         `json:"ended"`
	Frames      int          `json:"frames"`
	Dropped     int          `json:"dropped"`
	MSE         bool         `json:"mse"`
}

// playInChromium opens a page in headless Chromium that plays src (an
// HLS playlist with the vendored hls.js, or a file with <video src> when
// mode is "src") as user op, and returns what the page saw.
func playInChromium(t *testing.T, e *env, mode, src string) hlsResult {
	t.Helper()
	chromium := testutil.RequireTool(t, "chromium")
	hlsJS, err := os.ReadFile(filepath.Join("..", "web", "assets", "vendor", "hls.min.js"))
	if err != nil {
		t.Skipf("no vendored hls.js: %v", err)
	}
	page := strings.NewReplacer("{{SRC}}", src, "{{MODE}}", mode).Replace(hlsPage)
	results := make(chan hlsResult, 1)
	// The page and hls.min.js come from this test; everything else goes
	// to the API as op (a browser would send op's session cookie).
	base := e.srv.Config.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/test/page.html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
		case "/test/hls.min.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(hlsJS)
		case "/test/result":
			var res hlsResult
			if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
				t.Errorf("result: %v", err)
			}
			select {
			case results <- res:
			default:
			}
		default:
			r.Header.Set("Authorization", basicAuth("op"))
			base.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()

	ctx := testutil.Context(t, 90*time.Second)
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--autoplay-policy=no-user-gesture-required",
		srv.URL+"/test/page.html")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case res := <-results:
		t.Logf("chromium (%s): %+v", mode, res)
		if !res.MSE {
			t.Skip("this Chromium has no H.264")
		}
		return res
	case <-ctx.Done():
		t.Fatalf("no result from the page: %s", stderr.String())
	}
	return hlsResult{}
}

// checkPlayed fails unless the page played to the end with no error
// (bar stalls with everything buffered), one buffered range of length
// want seconds and about frames video frames.
func checkPlayed(t *testing.T, res hlsResult, want float64, frames int) {
	t.Helper()
	// A stall while everything is buffered (checked below: one range over
	// the whole media) is the decoder starved of CPU, not a hole: hls.js
	// reports it as a non-fatal bufferStalledError. Anything else is a
	// failure.
	var errs []string
	for _, e := range res.Errors {
		if e != "mediaError/bufferStalledError" {
			errs = append(errs, e)
		}
	}
	if res.Why != "ended" || !res.Ended || len(errs) != 0 {
		t.Fatalf("playback stopped (%s) with errors %v", res.Why, res.Errors)
	}
	if math.Abs(res.Duration-want) > 0.2 || math.Abs(res.CurrentTime-want) > 0.2 {
		t.Fatalf("duration %.2f s, ended at %.2f s; want %.2f s", res.Duration, res.CurrentTime, want)
	}
	if res.Frames < frames-2 || res.Frames > frames {
		t.Fatalf("the video element saw %d frames, want %d", res.Frames, frames)
	}
	if len(res.Buffered) != 1 || res.Buffered[0][0] > 0.1 || math.Abs(res.Buffered[0][1]-want) > 0.2 {
		t.Fatalf("buffered %v: want one range [0, %.2f]", res.Buffered, want)
	}
}

// TestPlaylistPlaysInHlsJS plays a playlist over several segment files
// and a gap in Chromium with the hls.js the viewer page vendors.
func TestPlaylistPlaysInHlsJS(t *testing.T) {
	e := twoSessions(t)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	res := playInChromium(t, e, "hls", e.playlistPath(s0.Start, s1.End))
	// The playlist leaves the gap out.
	want := s0.End.Sub(s0.Start).Seconds() + s1.End.Sub(s1.Start).Seconds()
	checkPlayed(t, res, want, e.f.Frames[0]+e.f.Frames[1])
}

// TestExportPlaysInChromium plays an export across segment files and a
// gap with <video src>: the gap stays in the file's timeline.
func TestExportPlaysInChromium(t *testing.T) {
	e := twoSessions(t)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	res := playInChromium(t, e, "src", e.exportPath(s0.Start, s1.End))
	checkPlayed(t, res, s1.End.Sub(s0.Start).Seconds(), e.f.Frames[0]+e.f.Frames[1])
}
