package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/tcpproxy"
)

// GatewayConfig is one gateway benchmark run (`vigil bench --gateway`): a
// real hub serving TLS on loopback, a `vigil gateway` process pulling
// Cameras simulated cameras, and two proxies standing for the site's
// uplink (the gateway's --hub and --rtsp point at them).
type GatewayConfig struct {
	// Vigil is the vigil binary run as hub and gateway (default: this one).
	Vigil string
	// Cameras is the number of cameras at the site.
	Cameras int
	// Warmup runs before the measured window; Window is its length. The
	// window measures the steady state without a cap: the gateway's CPU
	// and RSS, and the live rate (what the hub receives of the uploads,
	// which then equals what the cameras record).
	Warmup, Window time.Duration
	// Outage, when positive, then restarts the gateway with a backfill
	// cap of CapFactor x the measured live rate, cuts the uplink for
	// Outage, restores it and measures the drain. 0: no outage phase.
	Outage time.Duration
	// CapFactor is the cap as a multiple of the live rate (default 1.5).
	CapFactor float64
	// DrainTimeout bounds the wait for the drain (default 6 x Outage + 60 s).
	DrainTimeout time.Duration
	// Clip is the H.264 clip the cameras loop: "" makes the 1080p 25 fps
	// ~4 Mbit/s bench clip (see Config.Clip); "builtin" is the embedded
	// footage as it is; else a file.
	Clip string
	// Data holds the hub's and the gateway's data dirs (default: a
	// temporary dir, removed after unless Keep).
	Data string
	Keep bool
	// FsyncSample, when positive, counts the gateway's fsync, fdatasync
	// and syncfs calls with strace for that long after the window (strace
	// slows the process while attached, so it is not part of the window).
	FsyncSample time.Duration
}

// GatewayResult is what one gateway run measured.
type GatewayResult struct {
	Cameras int
	Window  time.Duration
	// LiveMbit is the measured live rate of all cameras together: Mbit/s
	// of fragment stream the hub received over the window plus the
	// backlog's growth over it (BacklogGrowthMbit; about 0 when the uplink
	// keeps up, as it should).
	LiveMbit, BacklogGrowthMbit float64
	// ClipMbit is what the clip holds per camera (its NAL units, 4-byte
	// length prefixes included); LiveRatio = LiveMbit / (ClipMbit x
	// Cameras). Well under 1 means footage was lost before or in the
	// gateway (the simulated cameras' write queues overflow when the
	// gateway reads too slowly: "write queue is full" on stderr), so the
	// run's figures are not those of a gateway keeping up.
	ClipMbit, LiveRatio float64
	// GatewayCPUms is the gateway's utime+stime per camera-second;
	// CamerasPerCore = 1000 / GatewayCPUms.
	GatewayCPUms, CamerasPerCore float64
	// GatewayRSS under load and IdleRSS (enrolled, no camera), MiB;
	// RSSPerCamera = (GatewayRSS - IdleRSS) / Cameras.
	GatewayRSS, IdleRSS, RSSPerCamera float64
	// HubCPUms is the hub's CPU per camera-second (live ingest + import);
	// BenchCPUms the bench process's (simulated cameras, proxies, polls).
	HubCPUms, BenchCPUms float64
	// FsyncsPerSec counts the gateway's fsync+fdatasync+syncfs calls per
	// second (-1: not measured).
	FsyncsPerSec float64

	// The outage phase (zero when not run).
	Outage time.Duration
	// CapMbit is the backfill cap given to the gateway.
	CapMbit float64
	// PeakBacklogMB is the largest backlog the gateway reported after the
	// uplink returned (MB, 10^6 bytes).
	PeakBacklogMB float64
	// Reconnect: restore to the first uploaded byte the hub received;
	// LiveBack: restore to every camera live again.
	Reconnect, LiveBack time.Duration
	// Drain is the time from restore to the first report whose oldest
	// pending fragment is no older than the steady state's (DrainAge);
	// IdealDrain = Outage x live / (cap - live); DrainRatio = Drain / IdealDrain.
	Drain, IdealDrain time.Duration
	DrainRatio        float64
	DrainAge          time.Duration
	// DrainMbit is what the hub received per second over the middle 80 %
	// of the drain (from the first byte to drained); CapFraction = that /
	// cap. WireMbit is the same span measured at the HTTPS proxy (TLS and
	// HTTP/2 framing included).
	DrainMbit, CapFraction, WireMbit float64
	// MinLiveDuringDrain is the fewest cameras live in any report over
	// the middle 80 % of the drain once every camera was live again (see
	// LiveBack); LiveMbitDuringDrain the live push rate through the RTSPS
	// proxy over that middle.
	MinLiveDuringDrain  int
	LiveMbitDuringDrain float64
	// Dropped is the fragments the gateway dropped (spool quota).
	Dropped uint64
}

const benchSite = "bench-site"

// RunGateway runs the gateway benchmark and writes progress to log.
func RunGateway(ctx context.Context, cfg GatewayConfig, log io.Writer) (GatewayResult, error) {
	res := GatewayResult{Cameras: cfg.Cameras, Window: cfg.Window, FsyncsPerSec: -1}
	if cfg.Cameras <= 0 {
		return res, errors.New("bench: cameras must be positive")
	}
	if cfg.Outage < 0 || cfg.Window <= 0 {
		return res, errors.New("bench: window must be positive and outage not negative")
	}
	if cfg.CapFactor == 0 {
		cfg.CapFactor = 1.5
	}
	if cfg.CapFactor <= 1 {
		return res, errors.New("bench: the cap factor must be over 1 (the backlog drains at cap - live)")
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 6*cfg.Outage + time.Minute
	}
	cleanup, err := setDefaults(&cfg.Vigil, &cfg.Data, "vigil-bench-gw-", cfg.Keep)
	if err != nil {
		return res, err
	}
	defer cleanup()
	clip, err := gatewayClip(ctx, cfg.Clip, log)
	if err != nil {
		return res, err
	}

	names := make([]string, cfg.Cameras)
	for i := range names {
		names[i] = fmt.Sprintf("gcam%d", i+1)
	}
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Names: names, Clip: clip})
	if err != nil {
		return res, err
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() { simDone <- s.Run(simCtx) }()
	defer func() { stopSim(); <-simDone }()
	<-s.Ready()
	if s.Addr() == "" {
		return res, fmt.Errorf("simulated cameras: %w", <-simDone)
	}

	h, err := startHub(ctx, cfg.Vigil, filepath.Join(cfg.Data, "hub"), "--tls")
	if err != nil {
		return res, err
	}
	defer h.Kill()
	httpsProxy, err := tcpproxy.Start(hostPort(h.HTTP))
	if err != nil {
		return res, err
	}
	defer httpsProxy.Close()
	rtspProxy, err := tcpproxy.Start(h.RTSP)
	if err != nil {
		return res, err
	}
	defer rtspProxy.Close()

	r := &gwRunner{cfg: cfg, hub: h, sim: s, names: names, http: httpsProxy, rtsp: rtspProxy, log: log}
	defer r.gw.kill()
	if err := r.setup(ctx, &res); err != nil {
		return res, fmt.Errorf("%w\ngateway log (tail):\n%s", err, r.gw.log.String())
	}
	if err := r.steady(ctx, &res); err != nil {
		return res, fmt.Errorf("%w\ngateway log (tail):\n%s", err, r.gw.log.String())
	}
	if cfg.Outage > 0 {
		if err := r.outage(ctx, &res); err != nil {
			return res, fmt.Errorf("%w\ngateway log (tail):\n%s", err, r.gw.log.String())
		}
	}
	if st, err := r.status(); err == nil && st.Status != nil {
		res.Dropped = st.Status.DroppedFragments
	}
	// A gateway slow to stop is reported, not fatal: the figures stand.
	if err := r.gw.stop(30 * time.Second); err != nil {
		fmt.Fprintf(log, "bench: WARNING: %v\n", err)
	}
	return res, h.Stop(60 * time.Second)
}

// gatewayClip loads the cameras' clip ("builtin": the embedded footage).
func gatewayClip(ctx context.Context, path string, log io.Writer) (*sim.Clip, error) {
	if path == "builtin" {
		return sim.DefaultClip()
	}
	return loadClip(ctx, path, log)
}

// hostPort strips the scheme of a URL such as https://127.0.0.1:8443.
func hostPort(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}

type gwRunner struct {
	cfg        GatewayConfig
	hub        *hubProc
	sim        *sim.Sim
	names      []string
	http, rtsp *tcpproxy.Proxy
	gw         gwProc
	log        io.Writer
}

// gwStatus is the "status" object of GET /api/v1/gateways/{id}.
type gwStatus struct {
	Online           bool    `json:"online"`
	LastSeen         string  `json:"last_seen"`
	BacklogBytes     int64   `json:"backlog_bytes"`
	BacklogFragments int     `json:"backlog_fragments"`
	OldestPending    string  `json:"oldest_pending"`
	DroppedFragments uint64  `json:"dropped_fragments"`
	RateCapBPS       float64 `json:"rate_cap_bps"`
	Cameras          int     `json:"cameras"`
	CamerasOnline    int     `json:"cameras_online"`
	CamerasLive      int     `json:"cameras_live"`
}

// seen is when the hub received the report (zero: none).
func (s *gwStatus) seen() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s.LastSeen)
	return t
}

// age is how old the oldest pending fragment was when the gateway
// reported (0: nothing pending).
func (s *gwStatus) age() time.Duration {
	if s.OldestPending == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s.OldestPending)
	if err != nil {
		return 0
	}
	return max(0, s.seen().Sub(t))
}

type gwInfo struct {
	EnrolledAt string    `json:"enrolled_at"`
	Status     *gwStatus `json:"status"`
}

func (r *gwRunner) status() (gwInfo, error) {
	var g gwInfo
	err := r.hub.call("GET", "/api/v1/gateways/gw-bench", nil, &g, false)
	return g, err
}

// waitUntil polls cond every 250 ms until it holds; after within it fails
// with cond's last description.
func waitUntil(ctx context.Context, within time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(within)
	for {
		ok, desc := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: not after %v: %s", what, within, desc)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitReport waits for a report received after since that satisfies ok.
func (r *gwRunner) waitReport(ctx context.Context, within time.Duration, what string, since time.Time, ok func(*gwStatus) bool) error {
	return waitUntil(ctx, within, what, func() (bool, string) {
		g, err := r.status()
		if err != nil {
			return false, err.Error()
		}
		if g.Status == nil {
			return false, "no status"
		}
		return g.Status.seen().After(since) && ok(g.Status), fmt.Sprintf("%+v", *g.Status)
	})
}

// setup creates the site and its gateway, starts the gateway (enrolment),
// measures its idle RSS, then creates the cameras once the hub treats the
// site as remote (so the hub never pulls them itself) and restarts the
// gateway so it fetches them at once.
func (r *gwRunner) setup(ctx context.Context, res *GatewayResult) error {
	h := r.hub
	if err := h.call("POST", "/api/v1/sites", map[string]any{"id": benchSite}, nil, false); err != nil {
		return err
	}
	var created struct{ Token string }
	if err := h.call("POST", "/api/v1/gateways", map[string]any{"id": "gw-bench", "site": benchSite}, &created, false); err != nil {
		return err
	}
	r.gw = gwProc{bin: r.cfg.Vigil, args: []string{"gateway", "--hub", "https://" + r.http.Addr(), "--token", created.Token,
		"--data", filepath.Join(r.cfg.Data, "gateway"), "--rtsp", "rtsps://" + r.rtsp.Addr(), "--log-level", "warn"}}
	if err := r.gw.start(0); err != nil {
		return err
	}
	if err := waitUntil(ctx, 30*time.Second, "the gateway enrols", func() (bool, string) {
		g, err := r.status()
		if err != nil {
			return false, err.Error()
		}
		return g.EnrolledAt != "" && g.Status != nil && g.Status.Online && r.gw.running(), fmt.Sprintf("%+v", g)
	}); err != nil {
		return err
	}
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	idle, err := procRSS(r.gw.cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("gateway rss: %w", err)
	}
	res.IdleRSS = mib(idle)

	const probe = "gcam-probe"
	if err := h.call("POST", "/api/v1/cameras", map[string]any{"id": probe, "site": benchSite, "source": "rtsp://127.0.0.1:1/none"}, nil, false); err != nil {
		return err
	}
	if err := waitUntil(ctx, 15*time.Second, "the hub treats the site as remote", func() (bool, string) {
		var c struct {
			Status struct{ Error string } `json:"status"`
		}
		if err := h.call("GET", "/api/v1/cameras/"+probe, nil, &c, false); err != nil {
			return false, err.Error()
		}
		return strings.Contains(c.Status.Error, "gateway"), c.Status.Error
	}); err != nil {
		return err
	}
	if err := h.call("DELETE", "/api/v1/cameras/"+probe, nil, nil, false); err != nil {
		return err
	}
	for _, n := range r.names {
		if err := h.call("POST", "/api/v1/cameras", map[string]any{"id": n, "site": benchSite, "source": r.sim.URL(n), "transport": "tcp"}, nil, false); err != nil {
			return err
		}
	}
	return r.restart(ctx, 0)
}

// restart restarts the gateway with the backfill cap (bits/s, 0: none)
// and waits until it reports every camera online and live.
func (r *gwRunner) restart(ctx context.Context, capBits int64) error {
	if err := r.gw.stop(30 * time.Second); err != nil {
		return err
	}
	at := time.Now()
	if err := r.gw.start(capBits); err != nil {
		return err
	}
	n := r.cfg.Cameras
	return r.waitReport(ctx, 60*time.Second+time.Duration(n)*200*time.Millisecond, "the gateway reports every camera online and live", at,
		func(s *gwStatus) bool { return s.Online && s.CamerasOnline == n && s.CamerasLive == n })
}

// steady measures the uncapped steady state over the window.
func (r *gwRunner) steady(ctx context.Context, res *GatewayResult) error {
	fmt.Fprintf(r.log, "bench: gateway with %d cameras running; warming up %v\n", r.cfg.Cameras, r.cfg.Warmup)
	if err := sleepCtx(ctx, r.cfg.Warmup); err != nil {
		return err
	}
	// Start on a caught-up uplink where it catches up within a minute (an
	// overloaded machine may never): the live rate is what the hub
	// received plus the backlog's growth over the window either way.
	if err := r.waitReport(ctx, time.Minute, "the uplink catches up before the window", time.Now(),
		r.caughtUp); err != nil {
		fmt.Fprintf(r.log, "bench: measuring anyway: %v\n", err)
	}
	backlog0, err := r.backlogBytes()
	if err != nil {
		return err
	}
	gpid, hpid := r.gw.cmd.Process.Pid, r.hub.Cmd.Process.Pid
	g0, err := procCPU(gpid)
	if err != nil {
		return fmt.Errorf("gateway cpu: %w", err)
	}
	h0, _ := procCPU(hpid)
	b0, t0 := selfCPU(), time.Now()
	recv0, err := r.hub.metric("vigil_gateway_received_bytes_total")
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, r.cfg.Window); err != nil {
		return err
	}
	recv1, err := r.hub.metric("vigil_gateway_received_bytes_total")
	if err != nil {
		return err
	}
	backlog1, err := r.backlogBytes()
	if err != nil {
		return err
	}
	g1, err := procCPU(gpid)
	if err != nil {
		return fmt.Errorf("gateway cpu: %w", err)
	}
	h1, _ := procCPU(hpid)
	b1, wall := selfCPU(), time.Since(t0)
	rss, _ := procRSS(gpid)
	camSec := float64(r.cfg.Cameras) * wall.Seconds()
	res.GatewayCPUms = float64((g1 - g0).Microseconds()) / 1000 / camSec
	if res.GatewayCPUms > 0 {
		res.CamerasPerCore = 1000 / res.GatewayCPUms
	}
	res.HubCPUms = float64((h1 - h0).Microseconds()) / 1000 / camSec
	res.BenchCPUms = float64((b1 - b0).Microseconds()) / 1000 / camSec
	res.GatewayRSS = mib(rss)
	res.RSSPerCamera = (mib(rss) - res.IdleRSS) / float64(r.cfg.Cameras)
	res.BacklogGrowthMbit = float64(backlog1-backlog0) * 8 / 1e6 / wall.Seconds()
	res.LiveMbit = (recv1-recv0)*8/1e6/wall.Seconds() + res.BacklogGrowthMbit
	res.ClipMbit = clipMbit(r.sim.Clip())
	res.LiveRatio = res.LiveMbit / (res.ClipMbit * float64(r.cfg.Cameras))
	if res.LiveMbit <= 0 {
		return fmt.Errorf("bench: the hub received no upload in the %v window", r.cfg.Window)
	}
	if r.cfg.FsyncSample > 0 {
		if n, err := countFsyncs(ctx, gpid, r.cfg.FsyncSample); err != nil {
			fmt.Fprintf(r.log, "bench: fsync count not measured: %v\n", err)
		} else {
			res.FsyncsPerSec = n / r.cfg.FsyncSample.Seconds()
		}
	}
	return nil
}

// clipMbit is the clip's bitrate: its NAL units with 4-byte prefixes.
func clipMbit(c *sim.Clip) float64 {
	var bytes int
	for _, f := range c.Frames {
		for _, n := range f.NALUs {
			bytes += len(n) + 4
		}
	}
	return float64(bytes) * 8 / (float64(c.Duration) / sim.ClockRate) / 1e6
}

// caughtUp reports whether the gateway's uploads keep up: its oldest
// pending fragment is at most 3 s old, or at most two fragments per camera
// are pending (fragments of several seconds, as a clip with sparse
// keyframes makes, leave the oldest one older).
func (r *gwRunner) caughtUp(s *gwStatus) bool {
	return s.age() <= 3*time.Second || s.BacklogFragments <= 2*r.cfg.Cameras
}

// backlogBytes is the backlog of the gateway's latest report.
func (r *gwRunner) backlogBytes() (int64, error) {
	g, err := r.status()
	if err != nil {
		return 0, err
	}
	if g.Status == nil {
		return 0, errors.New("bench: the gateway has not reported")
	}
	return g.Status.BacklogBytes, nil
}

// drainSample is one poll during the drain.
type drainSample struct {
	at       time.Time
	received float64 // hub's fragment bytes from the gateway, total
	wire     int64   // HTTPS proxy bytes gateway→hub, total
	live     int64   // RTSPS proxy bytes gateway→hub, total
	st       *gwStatus
}

// outage restarts the gateway with the cap, cuts the uplink for the
// outage, restores it and measures the drain.
func (r *gwRunner) outage(ctx context.Context, res *GatewayResult) error {
	res.Outage = r.cfg.Outage
	liveBps := res.LiveMbit * 1e6
	capBits := int64(r.cfg.CapFactor * liveBps)
	res.CapMbit = float64(capBits) / 1e6
	fmt.Fprintf(r.log, "bench: live %.2f Mbit/s; restarting the gateway with a cap of %.2f Mbit/s\n", res.LiveMbit, res.CapMbit)
	if err := r.restart(ctx, capBits); err != nil {
		return err
	}
	// The restart left a little backlog: let it drain, then take the
	// steady state's oldest pending age (the drain criterion) over three
	// status reports.
	if err := r.waitReport(ctx, 2*time.Minute, "the backlog of the restart drains", time.Now(),
		r.caughtUp); err != nil {
		return err
	}
	steadyAge := time.Duration(0)
	settle := time.Now().Add(6 * time.Second)
	for time.Now().Before(settle) {
		if g, err := r.status(); err == nil && g.Status != nil {
			steadyAge = max(steadyAge, g.Status.age())
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	res.DrainAge = max(3*time.Second, steadyAge+time.Second)

	fmt.Fprintf(r.log, "bench: cutting the uplink for %v\n", r.cfg.Outage)
	r.http.Cut()
	r.rtsp.Cut()
	if err := sleepCtx(ctx, r.cfg.Outage); err != nil {
		return err
	}
	r.http.Restore()
	r.rtsp.Restore()
	restored := time.Now()
	fmt.Fprintf(r.log, "bench: uplink restored; waiting for the drain (at most %v)\n", r.cfg.DrainTimeout)

	var samples []drainSample
	var drainedAt, liveAt, firstAt time.Time
	recv0, err := r.hub.metric("vigil_gateway_received_bytes_total")
	if err != nil {
		return err
	}
	deadline := restored.Add(r.cfg.DrainTimeout)
	for drainedAt.IsZero() {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the backlog did not drain within %v of the restore", r.cfg.DrainTimeout)
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		smp := drainSample{at: time.Now()}
		if smp.received, err = r.hub.metric("vigil_gateway_received_bytes_total"); err != nil {
			continue
		}
		smp.wire, _ = r.http.Bytes()
		smp.live, _ = r.rtsp.Bytes()
		if g, err := r.status(); err == nil && g.Status != nil && g.Status.seen().After(restored) {
			smp.st = g.Status
			res.PeakBacklogMB = max(res.PeakBacklogMB, float64(g.Status.BacklogBytes)/1e6)
			if liveAt.IsZero() && g.Status.CamerasLive == r.cfg.Cameras {
				liveAt = g.Status.seen()
			}
			if g.Status.age() <= res.DrainAge {
				drainedAt = g.Status.seen()
			}
		}
		if firstAt.IsZero() && smp.received > recv0 {
			firstAt = smp.at
		}
		samples = append(samples, smp)
	}
	res.Drain = drainedAt.Sub(restored)
	if !liveAt.IsZero() {
		res.LiveBack = liveAt.Sub(restored)
	}
	if !firstAt.IsZero() {
		res.Reconnect = firstAt.Sub(restored)
	}
	res.IdealDrain = time.Duration(float64(r.cfg.Outage) * liveBps / (float64(capBits) - liveBps))
	res.DrainRatio = res.Drain.Seconds() / res.IdealDrain.Seconds()
	res.summariseDrain(samples, firstAt, drainedAt, liveAt, float64(capBits))
	return nil
}

// summariseDrain computes the rates over the middle 80 % of [first, end],
// and the fewest cameras live in a report of it received once every camera
// was live again (liveAt; zero: never, then in any report of it).
func (res *GatewayResult) summariseDrain(samples []drainSample, first, end, liveAt time.Time, capBits float64) {
	if first.IsZero() || !end.After(first) {
		return
	}
	span := end.Sub(first)
	from, to := first.Add(span/10), end.Add(-span/10)
	var a, b *drainSample
	res.MinLiveDuringDrain = res.Cameras
	for i := range samples {
		s := &samples[i]
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		if a == nil {
			a = s
		}
		b = s
		if s.st != nil && !s.st.seen().Before(liveAt) {
			res.MinLiveDuringDrain = min(res.MinLiveDuringDrain, s.st.CamerasLive)
		}
	}
	if a == nil || b == a {
		return
	}
	sec := b.at.Sub(a.at).Seconds()
	res.DrainMbit = (b.received - a.received) * 8 / 1e6 / sec
	res.WireMbit = float64(b.wire-a.wire) * 8 / 1e6 / sec
	res.LiveMbitDuringDrain = float64(b.live-a.live) * 8 / 1e6 / sec
	res.CapFraction = res.DrainMbit * 1e6 / capBits
}

// countFsyncs counts pid's fsync, fdatasync and syncfs calls (all its
// threads) with strace for d and returns the count.
func countFsyncs(ctx context.Context, pid int, d time.Duration) (float64, error) {
	if _, err := exec.LookPath("strace"); err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, "strace", "-f", "-c", "-e", "trace=fsync,fdatasync,syncfs", "-p", fmt.Sprint(pid))
	var out tailBuffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	sleepCtx(ctx, d)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	return parseStraceCount(out.String())
}

// parseStraceCount sums the calls column of strace -c's summary for the
// sync calls.
func parseStraceCount(s string) (float64, error) {
	var n float64
	found := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		switch f[len(f)-1] {
		case "fsync", "fdatasync", "syncfs":
			var calls float64
			if _, err := fmt.Sscan(f[3], &calls); err == nil {
				n += calls
				found = true
			}
		case "total":
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no strace summary in %q", s)
	}
	return n, nil
}

// gwProc is the `vigil gateway` child process, restartable on its data dir.
type gwProc struct {
	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	log  tailBuffer // stdout and stderr of every run
}

// start runs the gateway with the backfill cap (bits/s, 0: none).
func (g *gwProc) start(capBits int64) error {
	args := append(append([]string(nil), g.args...), "--backfill-rate", fmt.Sprint(capBits))
	g.cmd = exec.Command(g.bin, args...)
	g.cmd.Stdout, g.cmd.Stderr = &g.log, &g.log
	if err := g.cmd.Start(); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	done := make(chan struct{})
	g.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(g.cmd)
	return nil
}

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

// stop sends SIGTERM and waits up to within for the exit. A gateway still
// running then gets SIGQUIT (Go prints every goroutine's stack), which is
// written to a file in the temporary dir, and is killed.
func (g *gwProc) stop(within time.Duration) error {
	if !g.running() {
		return nil
	}
	cpu0, _ := procCPU(g.cmd.Process.Pid)
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		return nil
	case <-time.After(within):
	}
	cpu1, _ := procCPU(g.cmd.Process.Pid)
	g.log.keepAll()
	g.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
	}
	g.kill()
	dump := "(not written)"
	if f, err := os.CreateTemp("", "vigil-bench-gateway-stuck-*.log"); err == nil {
		f.WriteString(g.log.String())
		f.Close()
		dump = f.Name()
	}
	return fmt.Errorf("gateway did not stop within %v of SIGTERM (it used %v of CPU meanwhile); its goroutines: %s",
		within, cpu1-cpu0, dump)
}

// kill kills a running gateway and waits for it.
func (g *gwProc) kill() {
	if g.running() {
		g.cmd.Process.Kill()
		<-g.done
	}
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last 32 KiB written to it (8 MiB after keepAll).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	all bool
}

const tailMax = 32 << 10

// keepAll raises the bound to 8 MiB (for a goroutine dump).
func (t *tailBuffer) keepAll() {
	t.mu.Lock()
	t.all = true
	t.mu.Unlock()
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	limit := tailMax
	if t.all {
		limit = 8 << 20
	}
	if len(t.buf) > limit {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-limit:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// String formats a result as one line.
func (r GatewayResult) String() string {
	s := fmt.Sprintf("cameras=%d window=%v live_mbit=%.2f (backlog growth %.2f; %.3f of the clip's %.2f x %d) gw_cpu_ms_per_cam_s=%.2f cameras_per_core=%.0f "+
		"gw_rss_mib=%.0f (idle %.0f, %.2f/camera) hub_cpu_ms_per_cam_s=%.2f bench_cpu_ms_per_cam_s=%.2f",
		r.Cameras, r.Window, r.LiveMbit, r.BacklogGrowthMbit, r.LiveRatio, r.ClipMbit, r.Cameras, r.GatewayCPUms, r.CamerasPerCore, r.GatewayRSS, r.IdleRSS, r.RSSPerCamera,
		r.HubCPUms, r.BenchCPUms)
	if r.FsyncsPerSec >= 0 {
		s += fmt.Sprintf(" fsyncs_per_s=%.1f", r.FsyncsPerSec)
	}
	if r.Outage > 0 {
		s += fmt.Sprintf(" outage=%v cap_mbit=%.2f peak_backlog_mb=%.1f reconnect=%v live_back=%v drain=%v ideal=%v ratio=%.2f "+
			"(drained: oldest pending <= %v) drain_mbit=%.2f cap_fraction=%.3f wire_mbit=%.2f min_live_during_drain=%d/%d live_mbit_during_drain=%.2f",
			r.Outage, r.CapMbit, r.PeakBacklogMB, r.Reconnect.Round(100*time.Millisecond), r.LiveBack.Round(100*time.Millisecond),
			r.Drain.Round(100*time.Millisecond), r.IdealDrain.Round(100*time.Millisecond), r.DrainRatio, r.DrainAge.Round(100*time.Millisecond),
			r.DrainMbit, r.CapFraction, r.WireMbit, r.MinLiveDuringDrain, r.Cameras, r.LiveMbitDuringDrain)
	}
	return s + fmt.Sprintf(" dropped=%d", r.Dropped)
}
