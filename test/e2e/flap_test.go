package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

// simOnPort runs `vigil sim` with one camera on a given port and returns a
// function that kills it.
func simOnPort(t *testing.T, port int) (stop func()) {
	t.Helper()
	cmd := exec.Command(vigilBin, "sim", "--cameras", "1", "--rtsp", fmt.Sprintf("127.0.0.1:%d", port))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "rtsp://") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("simulator not ready")
	}
	done := false
	stop = func() {
		if !done {
			done = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A camera that goes away and comes back is reconnected with backoff: the
// outage shows as offline/online events and an explicit gap. Meanwhile
// cameras are added and removed through the API, and a camera beside them
// records one unbroken span. The camera password appears nowhere.
func TestFlappingCameraAndLiveChanges(t *testing.T) {
	const secret = "s3cret-camera-pw"
	steady := testutil.StartGstCamera(t, testutil.GstOptions{User: "viewer", Pass: secret})
	port := freePort(t)
	stopFlap := simOnPort(t, port)
	data := filepath.Join(t.TempDir(), "data")
	h := startHub(t, data, fmt.Sprintf(`record: {segment: 3s}
cameras:
  - {id: steady, source: %q, transport: tcp}
  - {id: flap, source: "rtsp://127.0.0.1:%d/cam1", transport: tcp}
`, steady, port))
	h.waitState("steady", "online", 20*time.Second)
	h.waitState("flap", "online", 20*time.Second)
	start := time.Now()

	time.Sleep(3 * time.Second)
	stopFlap()
	h.waitState("flap", "offline", 15*time.Second)
	h.api("POST", "/api/v1/cameras", map[string]any{"id": "added", "source": fmt.Sprintf("rtsp://127.0.0.1:%d/cam1", port)}, nil, 201)
	time.Sleep(2 * time.Second)
	simOnPort(t, port)
	h.waitState("flap", "online", 40*time.Second)
	h.waitState("added", "online", 40*time.Second)
	h.api("DELETE", "/api/v1/cameras/added", nil, nil, 204)
	h.api("PATCH", "/api/v1/cameras/flap", map[string]any{"name": "Renamed"}, nil, 200)
	time.Sleep(3 * time.Second)

	var cam struct{ Source string }
	h.api("GET", "/api/v1/cameras/steady", nil, &cam, 200)
	var ev struct {
		Events []struct{ Type, Camera string } `json:"events"`
	}
	h.api("GET", "/api/v1/events?camera=flap", nil, &ev, 200)
	tl := h.recordings("flap", start.Add(-time.Minute), time.Now())
	steadyTL := h.recordings("steady", start.Add(-time.Minute), time.Now())
	h.stop()

	if strings.Contains(cam.Source, secret) || strings.Contains(h.Stderr(), secret) {
		t.Error("the camera password was echoed or logged")
	}
	types := map[string]bool{}
	for _, e := range ev.Events {
		types[e.Type] = true
	}
	if !types["camera_offline"] || !types["camera_online"] {
		t.Errorf("events %+v, want camera_offline and camera_online", ev.Events)
	}
	var reconnect bool
	for _, g := range tl.Gaps {
		if g.Reason == "reconnect" && g.End.Sub(g.Start) > time.Second {
			reconnect = true
		}
	}
	if len(tl.Spans) < 2 || !reconnect {
		t.Errorf("flap timeline %+v: want two spans and a reconnect gap", tl)
	}
	if len(steadyTL.Spans) != 1 {
		t.Errorf("steady camera timeline %+v: want one unbroken span", steadyTL)
	}
	checkSegments(t, data, "steady", 25)
	checkSegmentsAllowingRestart(t, data, "flap", 10, tl.Spans[len(tl.Spans)-1].Start.Add(-time.Millisecond))
}
