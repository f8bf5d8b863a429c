package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
)

// The gateway tests run one hub with TLS forced on (a generated
// self-signed certificate; enrolment tokens carry its pin) and `vigil
// gateway` processes that reach it only through test-owned proxies, one
// for its HTTPS port and one for its RTSPS port per gateway, so a test can
// cut a site's uplink, restore it, and move it to a restarted hub.

// gatewayHubConf is the hub configuration of the gateway tests.
const gatewayHubConf = "tls: {enable: true}\nrecord: {segment: 20s}\n"

// startGatewayHub runs a hub on data with TLS on loopback.
func startGatewayHub(t *testing.T, data string) *hubProc {
	t.Helper()
	h := startHub(t, data, gatewayHubConf)
	if !strings.HasPrefix(h.http, "https://") || !strings.HasPrefix(h.rtsp, "rtsps://") {
		t.Fatalf("hub serves %s and %s, want https and rtsps", h.http, h.rtsp)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub log (tail, without successful requests):\n%s", tailLines(quietLog(h.Stderr()), 60))
			// VIGIL_E2E_KEEP=DIR keeps a failed test's hub data for a look.
			if keep := os.Getenv("VIGIL_E2E_KEEP"); keep != "" {
				dst := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
				if out, err := exec.Command("cp", "-a", data, dst).CombinedOutput(); err != nil {
					t.Logf("keep %s: %v %s", data, err, out)
				} else {
					t.Logf("hub data kept in %s", dst)
				}
			}
		}
	})
	return h
}

// hostPort strips the scheme of a URL such as https://127.0.0.1:8443.
func hostPort(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}

// gatewayStatus is the "status" object of GET /api/v1/gateways/{id}.
type gatewayStatus struct {
	Online           bool    `json:"online"`
	LastSeen         string  `json:"last_seen"`
	UplinkBPS        float64 `json:"uplink_bps"`
	ReceivedBPS      float64 `json:"received_bps"`
	RateCapBPS       float64 `json:"rate_cap_bps"`
	BacklogBytes     int64   `json:"backlog_bytes"`
	BacklogFragments int     `json:"backlog_fragments"`
	BacklogSeconds   float64 `json:"backlog_seconds"`
	OldestPending    string  `json:"oldest_pending"`
	SpoolBytes       int64   `json:"spool_bytes"`
	SpoolQuota       int64   `json:"spool_quota"`
	DroppedFragments uint64  `json:"dropped_fragments"`
	Cameras          int     `json:"cameras"`
	CamerasOnline    int     `json:"cameras_online"`
	CamerasLive      int     `json:"cameras_live"`
}

// gatewayInfo is a gateway as GET /api/v1/gateways/{id} answers it.
type gatewayInfo struct {
	ID         string         `json:"id"`
	Site       string         `json:"site"`
	EnrolledAt string         `json:"enrolled_at"`
	LastSeen   string         `json:"last_seen"`
	Revoked    bool           `json:"revoked"`
	Status     *gatewayStatus `json:"status"`
}

func (h *hubProc) gateway(id string) gatewayInfo {
	h.t.Helper()
	var g gatewayInfo
	h.api("GET", "/api/v1/gateways/"+id, nil, &g, 200)
	return g
}

func (g gatewayInfo) String() string {
	b, _ := json.Marshal(g)
	return string(b)
}

// waitFor polls cond every 250 ms until it holds, failing the test with
// its last description after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, within, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// gwProc is a `vigil gateway` process (restartable on the same --data
// directory). Its output is kept across restarts and shown when the test
// fails.
type gwProc struct {
	t          *testing.T
	id, site   string
	token      string
	data       string
	http, rtsp *proxy // the site's uplink to the hub's HTTPS and RTSPS ports
	extra      []string
	log        testutil.LogBuffer
	cmd        *exec.Cmd
	done       chan struct{}
	runs       int
}

// newGateway creates gateway id at site on the hub and returns it, not
// started, with its two proxies to the hub.
func newGateway(t *testing.T, h *hubProc, id, site string, extra ...string) *gwProc {
	t.Helper()
	var created struct{ Token string }
	h.api("POST", "/api/v1/gateways", map[string]any{"id": id, "site": site}, &created, 201)
	if !strings.Contains(created.Token, "~") {
		t.Errorf("enrolment token of a TLS hub carries no certificate pin (no ~)")
	}
	g := &gwProc{t: t, id: id, site: site, token: created.Token, data: filepath.Join(t.TempDir(), "gw-"+id),
		http: startProxy(t, hostPort(h.http)), rtsp: startProxy(t, hostPort(h.rtsp)), extra: extra}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("gateway %s log (tail):\n%s", id, tailLines(g.log.String(), 80))
		}
	})
	return g
}

// retarget points the gateway's proxies at a (restarted) hub.
func (g *gwProc) retarget(h *hubProc) {
	g.http.SetTarget(hostPort(h.http))
	g.rtsp.SetTarget(hostPort(h.rtsp))
}

// cut and restore the site's uplink (both proxies).
func (g *gwProc) cut()     { g.http.Cut(); g.rtsp.Cut() }
func (g *gwProc) restore() { g.http.Restore(); g.rtsp.Restore() }

// start runs `vigil gateway` (again) on the gateway's data directory.
func (g *gwProc) start() {
	g.t.Helper()
	args := append([]string{"gateway", "--hub", "https://" + g.http.Addr(), "--token", g.token,
		"--data", g.data, "--rtsp", "rtsps://" + g.rtsp.Addr()}, g.extra...)
	g.runs++
	fmt.Fprintf(&g.log, "=== run %d at %s\n", g.runs, time.Now().UTC().Format(time.RFC3339Nano))
	g.cmd = exec.Command(vigilBin, args...)
	g.cmd.Stdout, g.cmd.Stderr = &g.log, &g.log
	if err := g.cmd.Start(); err != nil {
		g.t.Fatalf("start gateway %s: %v", g.id, err)
	}
	done := make(chan struct{})
	g.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(g.cmd)
}

// running reports whether the process is alive.
func (g *gwProc) running() bool {
	if g.done == nil {
		return false
	}
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// kill kills the gateway the hard way (kill -9) and waits for it; killing
// a stopped one is harmless.
func (g *gwProc) kill() {
	if g.running() {
		g.cmd.Process.Signal(syscall.SIGKILL)
		<-g.done
	}
}

// stop sends SIGTERM and waits (20 s at most) for a clean exit.
func (g *gwProc) stop() {
	g.t.Helper()
	if !g.running() {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		if code := g.cmd.ProcessState.ExitCode(); code != 0 {
			g.t.Errorf("gateway %s exited %d after SIGTERM", g.id, code)
		}
	case <-time.After(20 * time.Second):
		// SIGQUIT: the Go runtime writes every goroutine's stack to the log.
		g.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-g.done:
		case <-time.After(5 * time.Second):
			g.kill()
		}
		g.t.Errorf("gateway %s did not stop within 20 s of SIGTERM; its goroutines:\n%s", g.id, goroutines(g.log.String()))
	}
}

// credential reads the gateway's stored credential from DIR/gateway.json.
func (g *gwProc) credential() string {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.data, "gateway.json"))
	if err != nil {
		g.t.Fatalf("gateway %s credential: %v", g.id, err)
	}
	var st struct{ Credential string }
	if err := json.Unmarshal(b, &st); err != nil || st.Credential == "" {
		g.t.Fatalf("gateway %s: gateway.json holds no credential (%v)", g.id, err)
	}
	return st.Credential
}

// origin reads the gateway spool's origin id (DIR/spool/ORIGIN).
func (g *gwProc) origin() string {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.data, "spool", "ORIGIN"))
	if err != nil {
		g.t.Fatalf("gateway %s spool origin: %v", g.id, err)
	}
	return strings.TrimSpace(string(b))
}

// camSpec is a camera of a site: its source as the site sees it and the
// frame rate it sends.
type camSpec struct {
	id, source string
	fps        float64
	proxy      *proxy // between the gateway and the camera
}

// siteRig is a site with its gateway and cameras.
type siteRig struct {
	site string
	gw   *gwProc
	cams []camSpec
}

// probeSource is a camera source nothing listens on.
const probeSource = "rtsp://127.0.0.1:1/none"

// setupSite creates site on the hub, its gateway (started, enrolled), and
// its cameras, and waits until the gateway reports every camera online.
//
// The cameras are created only once the hub treats the site as remote
// (a probe camera "<site>-probe" with an unreachable source says so), so
// the hub never pulls them itself; the gateway is then restarted to fetch
// the camera list at once rather than at its next refresh.
func setupSite(t *testing.T, h *hubProc, site string, cams []camSpec, gwArgs ...string) *siteRig {
	t.Helper()
	h.api("POST", "/api/v1/sites", map[string]any{"id": site}, nil, 201)
	g := newGateway(t, h, "gw-"+site, site, gwArgs...)
	g.start()
	waitFor(t, 30*time.Second, "gateway "+g.id+" enrols", func() (bool, string) {
		gi := h.gateway(g.id)
		return gi.EnrolledAt != "" && g.running(), gi.String()
	})
	probe := site + "-probe"
	h.api("POST", "/api/v1/cameras", map[string]any{"id": probe, "site": site, "source": probeSource}, nil, 201)
	waitFor(t, 15*time.Second, "the hub treats site "+site+" as remote", func() (bool, string) {
		var c cameraStatus
		h.api("GET", "/api/v1/cameras/"+probe, nil, &c, 200)
		return strings.Contains(c.Status.Error, "gateway"), fmt.Sprintf("%+v", c)
	})
	for _, c := range cams {
		h.api("POST", "/api/v1/cameras", map[string]any{"id": c.id, "site": site, "source": c.source, "transport": "tcp"}, nil, 201)
	}
	g.stop()
	g.start()
	waitFor(t, 40*time.Second, "gateway "+g.id+" reports its cameras online", func() (bool, string) {
		gi := h.gateway(g.id)
		return gi.Status != nil && gi.Status.Online && gi.Status.CamerasOnline == len(cams), gi.String()
	})
	return &siteRig{site: site, gw: g, cams: cams}
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// gstLaunch is the GStreamer camera of the gateway tests: real H.264 from
// x264 at 320x180, 25 fps, a keyframe a second, ~300 kbit/s (small, so
// backlogs drain in seconds).
const gstLaunch = "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=25/1 ! " +
	"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bframes=0 bitrate=300 ! " +
	"h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )"

// siteCameras starts a site's cameras: nSim from a `vigil sim` (10 fps)
// and, with gst, one GStreamer RTSP server (25 fps), each behind its own
// proxy so the test can end a camera's run by cutting it. Camera ids are
// site1, site2, ...
func siteCameras(t *testing.T, site string, nSim int, gst bool) []camSpec {
	t.Helper()
	var cams []camSpec
	if nSim > 0 {
		for i, u := range startSim(t, nSim) {
			cams = append(cams, proxiedCamera(t, fmt.Sprintf("%s%d", site, i+1), u, 10))
		}
	}
	if gst {
		u := testutil.StartGstCamera(t, testutil.GstOptions{Launch: gstLaunch})
		cams = append(cams, proxiedCamera(t, fmt.Sprintf("%s%d", site, len(cams)+1), u, 25))
	}
	return cams
}

// proxiedCamera puts a proxy in front of the RTSP camera at u.
func proxiedCamera(t *testing.T, id, u string, fps float64) camSpec {
	t.Helper()
	rest := strings.TrimPrefix(u, "rtsp://")
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		t.Fatalf("camera URL %q has no path", u)
	}
	p := startProxy(t, rest[:i])
	return camSpec{id: id, source: "rtsp://" + p.Addr() + rest[i:], fps: fps, proxy: p}
}

// stopCameras ends the cameras' run: their proxies are cut, so the
// gateway's pulls end and cannot reconnect. It returns when.
func stopCameras(sites ...*siteRig) time.Time {
	at := time.Now()
	for _, s := range sites {
		for _, c := range s.cams {
			c.proxy.Cut()
		}
	}
	return at
}

// waitDrained waits until every gateway reports (after since) that it
// holds no unacknowledged fragment older than maxAge (0: none at all).
func waitDrained(t *testing.T, h *hubProc, within time.Duration, since time.Time, maxAge time.Duration, sites ...*siteRig) {
	t.Helper()
	for _, s := range sites {
		waitFor(t, within, "gateway "+s.gw.id+" drains its backlog", func() (bool, string) {
			g := h.gateway(s.gw.id)
			st := g.Status
			if st == nil || !st.Online {
				return false, g.String()
			}
			seen, err := time.Parse(time.RFC3339Nano, st.LastSeen)
			if err != nil || !seen.After(since) {
				return false, g.String()
			}
			if maxAge == 0 {
				return st.BacklogFragments == 0 && st.BacklogBytes == 0, g.String()
			}
			return st.BacklogSeconds <= maxAge.Seconds(), g.String()
		})
	}
}

// allowedHole is a stretch where a camera's recordings may be apart: the
// gateway was down (no seq is missing: the camera was simply not
// recorded), or the spool dropped footage for its quota (seqs are
// missing). The hole must start within [from, to] and last at most max.
type allowedHole struct {
	from, to time.Time
	max      time.Duration
	dropped  bool // seqs may be missing across it
	why      string
}

// camCheck is the outcome of checkRecordings for one camera.
type camCheck struct {
	segs           []index.Segment
	frames         int
	expected       float64 // fps x the recorded time
	holes          []time.Duration
	shortfall      time.Duration // window end - last recorded end
	firstSeq, last uint64
}

// piece is one stored fragment of a camera, as its segment file holds it.
type piece struct {
	seg        *index.Segment
	seq        uint64
	start, end time.Time // wall clock: the segment's start + the media time
	frames     int
}

// checkRecordings checks everything a (stopped) hub recorded of camera c
// from a gateway's spool origin, up to windowEnd, when the camera's run
// ended. Each segment must be closed, as long as its file, decode without
// error, and hold exactly the fragments its index row lists (offsets and
// media times); ffprobe's frame count must equal the samples of those
// fragments, and each fragment must hold duration x fps frames (within
// one). Over all segments, fragment after fragment:
//   - seqs run from 1 up, each once: nothing twice, nothing missing except
//     across an allowed dropped hole;
//   - each fragment starts where the previous ends (within one frame
//     interval; never before it, by more than 1 ms), except across the
//     allowed holes — inside a segment too (a hub joins fragments less than
//     0.5 s apart into one segment);
//   - the last one ends at most endTol before windowEnd;
//   - the frames equal fps x the recorded time within one frame per run of
//     joined fragments (where the run's first and last frames fall inside
//     their frame intervals).
func checkRecordings(t *testing.T, data string, c camSpec, origin string, windowEnd time.Time, endTol time.Duration, holes ...allowedHole) camCheck {
	t.Helper()
	var r camCheck
	r.segs = indexSegments(t, data, c.id)
	if len(r.segs) == 0 {
		t.Errorf("camera %s: nothing recorded", c.id)
		return r
	}
	var pieces []piece
	for i := range r.segs {
		s := &r.segs[i]
		if s.Origin != origin {
			t.Errorf("camera %s: segment %s has origin %q, want the gateway's %q", c.id, s.Path, s.Origin, origin)
		}
		pieces = append(pieces, checkSegmentFile(t, data, s, c.fps)...)
	}
	if len(pieces) == 0 {
		return r
	}
	interval := time.Duration(float64(time.Second) / c.fps)
	runs := 1
	for i, p := range pieces {
		r.frames += p.frames
		r.expected += p.end.Sub(p.start).Seconds() * c.fps
		if i == 0 {
			continue
		}
		prev := pieces[i-1]
		gap := p.start.Sub(prev.end)
		jump := p.seq != prev.seq+1
		switch {
		case gap < -time.Millisecond:
			t.Errorf("camera %s: seq %d (%s) starts %v before seq %d ends: footage twice", c.id, p.seq, p.seg.Path, -gap, prev.seq)
		case gap <= interval:
			if jump {
				t.Errorf("camera %s: seq %d (%s) follows seq %d with no hole in time", c.id, p.seq, p.seg.Path, prev.seq)
			}
		default:
			runs++
			r.holes = append(r.holes, gap)
			if why, ok := holeAllowed(prev.end, gap, jump, holes); ok {
				t.Logf("camera %s: hole of %v from %s (seq %d to %d): %s", c.id, gap.Round(time.Millisecond),
					prev.end.Format("15:04:05.000"), prev.seq, p.seq, why)
			} else {
				t.Errorf("camera %s: hole of %v in the recordings from %s (seq %d) to %s (seq %d, %s)", c.id, gap,
					prev.end.Format("15:04:05.000"), prev.seq, p.start.Format("15:04:05.000"), p.seq, p.seg.Path)
			}
		}
	}
	r.firstSeq, r.last = pieces[0].seq, pieces[len(pieces)-1].seq
	if r.firstSeq != 1 {
		t.Errorf("camera %s: the first recorded fragment is seq %d, want 1 (the gateway's first)", c.id, r.firstSeq)
	}
	end := pieces[len(pieces)-1].end
	r.shortfall = windowEnd.Sub(end)
	if r.shortfall > endTol || r.shortfall < -time.Second {
		t.Errorf("camera %s: recordings end at %s, %v before the camera's run ended (allowed %v)",
			c.id, end.Format("15:04:05.000"), r.shortfall, endTol)
	}
	if slack := float64(runs); float64(r.frames) > r.expected+slack || float64(r.frames) < r.expected-slack {
		t.Errorf("camera %s: %d frames decoded, the recorded time says %.1f at %v fps (±%v)", c.id, r.frames, r.expected, c.fps, slack)
	}
	t.Logf("camera %s: %d segments, seqs %d..%d, %d frames (%.1f by time), holes %v, ends %v before the run's end",
		c.id, len(r.segs), r.firstSeq, r.last, r.frames, r.expected, r.holes, r.shortfall.Round(time.Millisecond))
	return r
}

// holeAllowed reports whether a hole of gap from at (with seqs missing
// across it when jump) is one of holes, and which.
func holeAllowed(at time.Time, gap time.Duration, jump bool, holes []allowedHole) (why string, ok bool) {
	for _, h := range holes {
		if at.Before(h.from) || at.After(h.to) || gap > h.max || (jump && !h.dropped) {
			continue
		}
		return h.why, true
	}
	return "", false
}

// checkSegmentFile checks one segment's file against its index row (see
// checkRecordings) and returns its fragments.
func checkSegmentFile(t *testing.T, data string, s *index.Segment, fps float64) []piece {
	t.Helper()
	if s.State != index.SegmentClosed {
		t.Errorf("%s: state %v, want closed", s.Path, s.State)
	}
	path := filepath.Join(data, "recordings", filepath.FromSlash(s.Path))
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) != s.Bytes {
		t.Errorf("%s: %d bytes (err %v), index says %d", s.Path, len(b), err, s.Bytes)
		return nil
	}
	res, err := segment.Scan(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Errorf("%s: %v", s.Path, err)
		return nil
	}
	probe := testutil.FFprobe(t, path)
	if probe.DecodeErrors != "" {
		t.Errorf("%s: decode errors: %s", s.Path, probe.DecodeErrors)
	}
	var pieces []piece
	var samples int
	bad := len(res.Fragments) != len(s.Fragments) || res.Tail != nil
	var desc strings.Builder
	for i, f := range res.Fragments {
		samples += f.Samples
		at := segment.Ticks(f.BaseTime-res.Fragments[0].BaseTime, res.Timescale())
		dur := segment.Ticks(f.Duration, res.Timescale())
		pieces = append(pieces, piece{seg: s, seq: s.FirstSeq + uint64(i), start: s.Start.Add(at), end: s.Start.Add(at + dur), frames: f.Samples})
		fmt.Fprintf(&desc, "  file fragment %d: offset %d, at %v, %v, %d frames", i, f.Offset, at, dur, f.Samples)
		if i < len(s.Fragments) {
			ix := s.Fragments[i]
			fmt.Fprintf(&desc, "; index: offset %d, at %v", ix.Offset, ix.Start)
			if ix.Offset != f.Offset || (ix.Start-at).Abs() > time.Millisecond {
				bad = true
			}
		}
		if d := float64(f.Samples) - dur.Seconds()*fps; d > 1.01 || d < -1.01 {
			bad = true
			desc.WriteString(" <- frames")
		}
		desc.WriteByte('\n')
	}
	if n := len(pieces); n > 0 && (pieces[n-1].end.Sub(s.End)).Abs() > time.Millisecond {
		bad = true
		fmt.Fprintf(&desc, "  the last fragment ends at %s, the index row at %s\n", pieces[n-1].end.Format("15:04:05.000"), s.End.Format("15:04:05.000"))
	}
	if bad {
		t.Errorf("%s (seq %d.., %d indexed fragments, %d in the file, tail %v, %v..%v):\n%s", s.Path, s.FirstSeq,
			len(s.Fragments), len(res.Fragments), res.Tail, s.Start.Format("15:04:05.000"), s.End.Format("15:04:05.000"), desc.String())
	}
	if n := probe.Video().Frames(); n != samples {
		t.Errorf("%s: ffprobe decodes %d frames, its fragments hold %d", s.Path, n, samples)
	}
	return pieces
}

// checkTimeline checks what the hub's recordings API says of camera c
// over [from, to]: no pending gap is left, and any gap between its first
// and last footage is lost and one of holes.
func checkTimeline(t *testing.T, h *hubProc, c camSpec, from, to time.Time, holes ...allowedHole) timeline {
	t.Helper()
	tl := h.recordings(c.id, from, to)
	if len(tl.Spans) == 0 {
		t.Errorf("camera %s: the hub shows no footage in [%s, %s]", c.id, from, to)
		return tl
	}
	first, last := tl.Spans[0].Start, tl.Spans[len(tl.Spans)-1].End
	for _, g := range tl.Gaps {
		if g.State == "pending" {
			t.Errorf("camera %s: a pending gap is left after the backlog drained: %+v", c.id, g)
			continue
		}
		if !g.Start.Before(first) && !g.End.After(last) {
			ok := false
			for _, hl := range holes {
				if !g.Start.Before(hl.from.Add(-time.Second)) && !g.Start.After(hl.to) && g.End.Sub(g.Start) <= hl.max+time.Second {
					ok = true
				}
			}
			if !ok || g.State != "lost" {
				t.Errorf("camera %s: gap %s..%s (%s %s) inside the footage", c.id, g.Start.Format("15:04:05.000"),
					g.End.Format("15:04:05.000"), g.State, g.Reason)
			}
		}
	}
	return tl
}

// dirSize is the total size of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking (an acknowledged file)
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("size of %s: %v", dir, err)
	}
	return n
}

// quietLog drops the log lines of successful HTTP requests (the tests
// poll), keeping the rest.
func quietLog(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `msg="http request"`) && strings.Contains(l, " status=2") {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// goroutines returns the goroutine dump at the end of a Go program's
// output (after SIGQUIT): each goroutine's header and its frames in
// Vigil's own code.
func goroutines(out string) string {
	i := strings.LastIndex(out, "SIGQUIT: quit")
	if i < 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(out[i:], "\n") {
		if strings.HasPrefix(l, "goroutine ") || strings.Contains(l, "vigil-video/vigil/") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
