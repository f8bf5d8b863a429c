// Package browser drives the viewer page in a real Chromium against the
// real vigil binary: `vigil sim` serves a camera, `vigil serve` pulls and
// records it, and viewer.mjs (Playwright) signs in, watches live, plays
// back from the timeline and exports a clip, which ffprobe then checks.
//
// It needs node with test/browser/node_modules (npm ci), Chromium
// (/usr/bin/chromium or VIGIL_CHROMIUM), ffmpeg and ffprobe. Without them
// the test skips, unless VIGIL_REQUIRE_PEERS is set: then it fails.
// Screenshots and logs go to VIGIL_ARTIFACTS (default
// test/browser/artifacts). VIGIL_BIN names a vigil binary to use instead
// of building one.
package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/hubproc"
	"github.com/vigil-video/vigil/internal/testutil"
)

const (
	adminPass = "browser-admin-pass"
	cameraID  = "street"
	// offlineID is a camera whose source does not answer.
	offlineID = "dock"
	// recorded is how much footage the hub holds before the browser starts.
	recorded = 20 * time.Second
)

// need fails or skips (see the package doc) when a tool is missing.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(testutil.RequirePeersEnv) != "" {
		t.Fatalf("required test peer missing: %s (%s is set)", what, testutil.RequirePeersEnv)
	}
	t.Skipf("test peer missing: %s", what)
}

// chromiumPath finds Chromium.
func chromiumPath() string {
	if p := os.Getenv("VIGIL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// result is what viewer.mjs prints on its last line.
type result struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Export struct {
		File string `json:"file"`
	} `json:"export"`
	Live struct {
		Latency  float64 `json:"latency"`
		Snapshot string  `json:"snapshot"`
	} `json:"live"`
	Playback struct {
		Clicked  string `json:"clicked"`
		Shown    string `json:"shown"`
		Snapshot string `json:"snapshot"`
	} `json:"playback"`
	Seconds float64 `json:"seconds"`
}

func TestViewerPage(t *testing.T) {
	node, err := exec.LookPath("node")
	need(t, err == nil, "node")
	chromium := chromiumPath()
	need(t, chromium != "", "chromium (apt-get install chromium, or set VIGIL_CHROMIUM)")
	_, err = os.Stat(filepath.Join("node_modules", "playwright-core", "package.json"))
	need(t, err == nil, "playwright-core (run npm ci in test/browser)")
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireTool(t, "ffprobe")
	ctx := testutil.Context(t, 150*time.Second)

	artifacts := os.Getenv("VIGIL_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := buildVigil(t)
	simURL := startSim(t, bin)
	h := startHub(t, bin, simURL)
	waitRecorded(t, h, recorded, 60*time.Second)

	res := runViewer(t, ctx, node, chromium, h.HTTP, artifacts)
	t.Logf("browser: live %.1f s behind; clicked %s, shown %s; %.1f s in all",
		res.Live.Latency, res.Playback.Clicked, res.Playback.Shown, res.Seconds)
	for _, f := range []string{res.Live.Snapshot, res.Playback.Snapshot} {
		checkJPEG(t, f, 768, 576)
	}

	p := testutil.FFprobe(t, res.Export.File)
	if p.DecodeErrors != "" {
		t.Errorf("export %s: decode errors: %s", res.Export.File, p.DecodeErrors)
	}
	// The export was asked for 10 s around the clicked moment; it starts
	// at the keyframe before (the clip has one every 2 s).
	if n := p.Video().Frames(); n < 80 || n > 200 {
		t.Errorf("export %s: %d frames, want about 100-120 (10 s at 10 fps from a keyframe)", res.Export.File, n)
	}
}

// checkJPEG decodes a downloaded snapshot and checks its size.
func checkJPEG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("snapshot: %v", err)
		return
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Errorf("snapshot %s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("snapshot %s: %v, want %dx%d", path, b, w, h)
	}
}

// The page's playlist timing (media time <-> wall time) passes its node
// unit tests (playlist.test.mjs).
func TestPlaylistModule(t *testing.T) {
	node, err := exec.LookPath("node")
	need(t, err == nil, "node")
	ctx := testutil.Context(t, 60*time.Second)
	out, err := exec.CommandContext(ctx, node, "--test", "playlist.test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test playlist.test.mjs: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# pass 3") {
		t.Errorf("expected 3 passing tests:\n%s", out)
	}
}

// buildVigil builds the binary into a temporary directory, or returns
// VIGIL_BIN when set (a binary built beforehand).
func buildVigil(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("VIGIL_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	ctx := testutil.Context(t, 120*time.Second)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/vigil").CombinedOutput()
	if err != nil {
		t.Fatalf("build vigil: %v: %s", err, out)
	}
	return bin
}

// startSim runs `vigil sim` with one camera looping the built-in clip
// and returns its RTSP URL.
func startSim(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "sim", "--cameras", "1", "--rtsp", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "rtsp://") {
				select {
				case urls <- sc.Text():
				default:
				}
			}
		}
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(15 * time.Second):
		t.Fatal("the simulator printed no camera URL")
		return ""
	}
}

// startHub runs `vigil serve` pulling the simulated camera.
func startHub(t *testing.T, bin, simURL string) *hubproc.Proc {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	cfg := fmt.Sprintf("data: %s\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\nrecord: {segment: 6s}\n"+
		"cameras: [{id: %s, name: Street, source: %q}, {id: %s, name: Loading dock, source: %q}]\n",
		data, cameraID, simURL, offlineID, "rtsp://127.0.0.1:9/nothing")
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr testutil.LogBuffer
	p, err := hubproc.Start(context.Background(), bin, []string{"serve", "--config", path},
		append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+adminPass), &stderr, 30*time.Second)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("stop hub: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log (successful requests left out):\n%s", tail(quiet(stderr.String()), 6000))
		}
	})
	return p
}

// waitRecorded waits until the camera's recordings hold one span of at
// least d.
func waitRecorded(t *testing.T, h *hubproc.Proc, d, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		now := time.Now().UTC()
		q := url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}
		var tl struct {
			Spans []struct{ Start, End time.Time } `json:"spans"`
		}
		last = getJSON(t, h.HTTP+"/api/v1/cameras/"+cameraID+"/recordings?"+q.Encode(), &tl)
		for _, s := range tl.Spans {
			if s.End.Sub(s.Start) >= d {
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the camera did not record %v within %v: %s", d, within, last)
}

// getJSON fetches an API path as admin and decodes it into out; it
// returns the body.
func getJSON(t *testing.T, u string, out any) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth("admin", adminPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
	return string(body)
}

// runViewer runs viewer.mjs and returns its result.
func runViewer(t *testing.T, ctx context.Context, node, chromium, hubURL, artifacts string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 100*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "viewer.mjs")
	cmd.Env = append(os.Environ(), "VIGIL_URL="+hubURL, "VIGIL_USER=admin", "VIGIL_PASSWORD="+adminPass,
		"VIGIL_CAMERA="+cameraID, "VIGIL_OFFLINE_CAMERA="+offlineID, "VIGIL_ARTIFACTS="+artifacts, "VIGIL_CHROMIUM="+chromium, "VIGIL_TIMEOUT_MS=90000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res result
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("viewer.mjs: %v (result %q): %s\nbrowser log:\n%s\n(screenshots in %s)",
			err, res.Error, tail(stdout.String(), 2000), tail(stderr.String(), 8000), artifacts)
	}
	return res
}

// quiet drops the access log lines of successful requests.
func quiet(log string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if strings.Contains(line, `msg="http request"`) && !strings.Contains(line, " status=4") && !strings.Contains(line, " status=5") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
