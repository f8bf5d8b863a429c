// Package e2e runs the real vigil binary on 127.0.0.1 against peers nobody
// here wrote (ffmpeg, GStreamer's RTSP server) and checks every recording
// with ffprobe.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/hubproc"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

const adminPass = "e2e-admin-pass"

var vigilBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-e2e-bin")
	if err != nil {
		panic(err)
	}
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin, "../../cmd/vigil")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build vigil:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hubProc is a running `vigil serve` with an API token.
type hubProc struct {
	*hubproc.Proc
	t      *testing.T
	data   string
	http   string // http://127.0.0.1:port (https:// when the hub serves TLS)
	rtsp   string // rtsp://127.0.0.1:port (rtsps://)
	token  string
	stderr testutil.LogBuffer
	// client trusts the hub's certificate (DATA/tls/cert.pem) when it
	// serves TLS.
	client *http.Client
}

// startHub runs the hub on data with the given extra YAML config.
func startHub(t *testing.T, data, extraYAML string) *hubProc {
	t.Helper()
	cfg := fmt.Sprintf("data: %s\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\n%s", data, extraYAML)
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &hubProc{t: t, data: data}
	p, err := hubproc.Start(context.Background(), vigilBin, []string{"serve", "--config", cfgPath},
		append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+adminPass), &h.stderr, 30*time.Second)
	if err != nil {
		t.Fatalf("%v: %s", err, h.Stderr())
	}
	h.Proc, h.http, h.rtsp = p, p.HTTP, p.RTSPScheme+"://"+p.RTSP
	t.Cleanup(h.kill)
	h.client = http.DefaultClient
	if strings.HasPrefix(p.HTTP, "https://") {
		h.client = tlsClient(t, filepath.Join(data, "tls", "cert.pem"))
	}
	var tok struct{ Token string }
	h.do("POST", "/api/v1/tokens", map[string]any{"name": "e2e"}, &tok, 201, true)
	h.token = tok.Token
	return h
}

// tlsClient returns an HTTP client that trusts the certificate in the PEM
// file certPath (a hub's generated self-signed one).
func tlsClient(t *testing.T, certPath string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("hub certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("no certificate in %s", certPath)
	}
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// Stderr returns the hub's log so far.
func (h *hubProc) Stderr() string { return h.stderr.String() }

// api calls the API with the test's bearer token and decodes the answer.
func (h *hubProc) api(method, path string, body, out any, want int) {
	h.t.Helper()
	h.do(method, path, body, out, want, false)
}

func (h *hubProc) do(method, path string, body, out any, want int, basic bool) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.http+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if basic {
		req.SetBasicAuth("admin", adminPass)
	} else {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (h *hubProc) stop() {
	h.t.Helper()
	if err := h.Stop(20 * time.Second); err != nil {
		h.t.Fatalf("%v: %s", err, h.Stderr())
	}
}

// kill kills the hub the hard way (kill -9); killing twice is harmless.
func (h *hubProc) kill() {
	select {
	case <-h.Done():
	default:
		h.Kill()
	}
}

type cameraStatus struct {
	ID     string `json:"id"`
	Status struct {
		State string  `json:"state"`
		FPS   float64 `json:"fps"`
		Error string  `json:"error"`
	} `json:"status"`
}

// waitState polls a camera until its state is want.
func (h *hubProc) waitState(id, want string, within time.Duration) cameraStatus {
	h.t.Helper()
	deadline := time.Now().Add(within)
	var c cameraStatus
	for time.Now().Before(deadline) {
		h.api("GET", "/api/v1/cameras/"+id, nil, &c, 200)
		if c.Status.State == want {
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("camera %s is %q (error %q), want %q", id, c.Status.State, c.Status.Error, want)
	return c
}

// waitError polls a camera until its status carries an error.
func (h *hubProc) waitError(id string, within time.Duration) cameraStatus {
	h.t.Helper()
	deadline := time.Now().Add(within)
	var c cameraStatus
	for time.Now().Before(deadline) {
		h.api("GET", "/api/v1/cameras/"+id, nil, &c, 200)
		if c.Status.Error != "" {
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("camera %s (%s) shows no error after %v", id, c.Status.State, within)
	return c
}

type timeline struct {
	Spans []struct{ Start, End time.Time } `json:"spans"`
	Gaps  []struct {
		Start, End time.Time
		State      string
		Reason     string
	} `json:"gaps"`
}

func (h *hubProc) recordings(id string, from, to time.Time) timeline {
	h.t.Helper()
	var tl timeline
	q := fmt.Sprintf("?from=%s&to=%s", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	h.api("GET", "/api/v1/cameras/"+id+"/recordings"+q, nil, &tl, 200)
	return tl
}

// indexSegments opens the (stopped) hub's index and returns a camera's
// segments in order.
func indexSegments(t *testing.T, data, camera string) []index.Segment {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	segs, err := st.Segments(ctx, camera, time.Unix(0, 0), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].Start.Before(segs[j].Start) })
	return segs
}

type indexSegment = index.Segment

// checkSegments probes every segment of a camera (see checkList) and
// returns the total decoded video frames and the segments.
func checkSegments(t *testing.T, data, camera string, fps float64) (int, []index.Segment) {
	t.Helper()
	segs := indexSegments(t, data, camera)
	if len(segs) == 0 {
		t.Fatalf("camera %s recorded nothing", camera)
	}
	return checkList(t, data, segs, fps), segs
}

// checkList probes segments: each must be closed, match its file's size,
// decode with no error, hold as many frames as its duration says (within
// one), and start where the previous one ends (within one frame).
func checkList(t *testing.T, data string, segs []index.Segment, fps float64) (frames int) {
	t.Helper()
	for i, s := range segs {
		if s.State != index.SegmentClosed {
			t.Errorf("%s: state %v, want closed", s.Path, s.State)
		}
		path := filepath.Join(data, "recordings", filepath.FromSlash(s.Path))
		st, err := os.Stat(path)
		if err != nil || st.Size() != s.Bytes {
			t.Errorf("%s: file %v (err %v), index says %d bytes", s.Path, sizeOf(st), err, s.Bytes)
			continue
		}
		p := testutil.FFprobe(t, path)
		if p.DecodeErrors != "" {
			t.Errorf("%s: decode errors: %s", s.Path, p.DecodeErrors)
		}
		n := p.Video().Frames()
		frames += n
		want := s.End.Sub(s.Start).Seconds() * fps
		if d := float64(n) - want; d > 1.01 || d < -1.01 {
			t.Errorf("%s: %d frames, index duration %v says %.1f", s.Path, n, s.End.Sub(s.Start), want)
		}
		if i > 0 {
			if gap := s.Start.Sub(segs[i-1].End); gap > time.Duration(float64(time.Second)/fps) || gap < -time.Millisecond {
				t.Errorf("%s starts %v after the previous segment ends", s.Path, gap)
			}
		}
	}
	return frames
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
