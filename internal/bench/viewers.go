package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/sim"
)

// ViewersConfig is one live-viewing benchmark run: Cameras pushed streams
// and Viewers HLS clients spread over them.
type ViewersConfig struct {
	Vigil   string
	Cameras int
	Viewers int
	// Warmup before the baseline window; Window is the length of the
	// baseline window (no viewers) and of the measured one (viewers).
	Warmup, Window time.Duration
	Clip           string
	Data           string
}

// ViewersResult is what one viewers run measured.
type ViewersResult struct {
	Cameras, Viewers int
	Window           time.Duration
	// BaseCPU is the hub's CPU (cores) recording the cameras alone; CPU with
	// the viewers too. CPUPerViewer = (CPU - BaseCPU) / Viewers, in ms of CPU
	// per viewer-second.
	BaseCPU, CPU, CPUPerViewerMs float64
	// RSS in MiB without and with viewers; per viewer.
	BaseRSS, RSS, RSSPerViewer float64
	// MaxStall is the longest stall any viewer saw; Stalled counts viewers
	// with a stall over 2 s.
	MaxStall time.Duration
	Stalled  int
	// P50/P99 of the per-viewer longest stall.
	StallP50, StallP99 time.Duration
	MbitPerViewer      float64
	Requests, Errors   int
}

// RunViewers runs the live-viewing benchmark and writes progress to log.
func RunViewers(ctx context.Context, cfg ViewersConfig, log io.Writer) (ViewersResult, error) {
	res := ViewersResult{Cameras: cfg.Cameras, Viewers: cfg.Viewers, Window: cfg.Window}
	if cfg.Cameras <= 0 || cfg.Viewers <= 0 {
		return res, errors.New("bench: cameras and viewers must be positive")
	}
	cleanup, err := setDefaults(&cfg.Vigil, &cfg.Data, "vigil-bench-", false)
	if err != nil {
		return res, err
	}
	defer cleanup()
	clip, err := loadClip(ctx, cfg.Clip, log)
	if err != nil {
		return res, err
	}
	h, err := startHub(ctx, cfg.Vigil, cfg.Data)
	if err != nil {
		return res, err
	}
	defer h.Kill()
	r := &runner{hub: h}
	for i := 0; i < cfg.Cameras; i++ {
		if err := h.call("POST", "/api/v1/cameras", map[string]any{"id": r.camID(i), "name": r.camID(i)}, nil, false); err != nil {
			return res, err
		}
	}
	pushCtx, stopPush := context.WithCancel(ctx)
	defer stopPush()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sim.Push(pushCtx, sim.PushConfig{Target: "rtsp://" + h.RTSP, Cameras: cfg.Cameras,
			Prefix: "bench", User: "admin", Pass: benchPass, Clip: clip})
	}()
	defer wg.Wait()
	defer stopPush()
	fmt.Fprintf(log, "bench: %d cameras pushing; warming up %v\n", cfg.Cameras, cfg.Warmup)
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return res, err
	}
	pid := h.Cmd.Process.Pid
	base, err := measureCPU(ctx, pid, cfg.Window)
	if err != nil {
		return res, err
	}
	res.BaseCPU = base
	baseRSS, _ := procRSS(pid)
	res.BaseRSS = mib(baseRSS)

	fmt.Fprintf(log, "bench: %d viewers joining\n", cfg.Viewers)
	viewCtx, stopView := context.WithCancel(ctx)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Viewers * 2}}
	viewers := make([]*hlsViewer, cfg.Viewers)
	var vwg sync.WaitGroup
	for i := range viewers {
		v := &hlsViewer{client: client, token: h.token,
			url: h.HTTP + "/api/v1/cameras/" + r.camID(i%cfg.Cameras) + "/live.m3u8"}
		viewers[i] = v
		vwg.Add(1)
		go func() {
			defer vwg.Done()
			v.run(viewCtx)
		}()
	}
	// let every viewer start playing before measuring
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		stopView()
		vwg.Wait()
		return res, err
	}
	bytes0 := totalBytes(viewers)
	cpu, err := measureCPU(ctx, pid, cfg.Window)
	bytes1 := totalBytes(viewers)
	rss, _ := procRSS(pid)
	stopView()
	vwg.Wait()
	if err != nil {
		return res, err
	}
	now := time.Now()
	res.CPU, res.RSS = cpu, mib(rss)
	res.CPUPerViewerMs = (cpu - base) * 1000 / float64(cfg.Viewers)
	res.RSSPerViewer = (mib(rss) - mib(baseRSS)) / float64(cfg.Viewers)
	res.MbitPerViewer = float64(bytes1-bytes0) * 8 / 1e6 / cfg.Window.Seconds() / float64(cfg.Viewers)
	stalls := make([]time.Duration, 0, len(viewers))
	for _, v := range viewers {
		v.finish(now)
		if v.started.IsZero() {
			v.maxStall = cfg.Window + 5*time.Second // never played
		}
		stalls = append(stalls, v.maxStall)
		res.MaxStall = max(res.MaxStall, v.maxStall)
		if v.maxStall > 2*time.Second {
			res.Stalled++
		}
		res.Requests += v.requests
		res.Errors += v.errs
	}
	sort.Slice(stalls, func(i, j int) bool { return stalls[i] < stalls[j] })
	res.StallP50 = stalls[len(stalls)/2]
	res.StallP99 = stalls[min(len(stalls)-1, len(stalls)*99/100)]
	return res, nil
}

func totalBytes(vs []*hlsViewer) int64 {
	var n int64
	for _, v := range vs {
		n += v.bytes.Load()
	}
	return n
}

// measureCPU returns the cores the process used over window.
func measureCPU(ctx context.Context, pid int, window time.Duration) (float64, error) {
	c0, err := procCPU(pid)
	if err != nil {
		return 0, fmt.Errorf("hub cpu: %w", err)
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, window); err != nil {
		return 0, err
	}
	c1, err := procCPU(pid)
	if err != nil {
		return 0, fmt.Errorf("hub cpu: %w", err)
	}
	return (c1 - c0).Seconds() / time.Since(t0).Seconds(), nil
}

// String prints the result on one line.
func (r ViewersResult) String() string {
	return fmt.Sprintf("cameras=%d viewers=%d window=%v hub_cpu_cores=%.2f (cameras alone %.2f) cpu_ms_per_viewer_s=%.2f "+
		"hub_rss_mib=%.0f (cameras alone %.0f) rss_mib_per_viewer=%.2f mbit_per_viewer=%.2f "+
		"max_stall=%v stall_p50=%v stall_p99=%v viewers_stalled_over_2s=%d requests=%d errors=%d",
		r.Cameras, r.Viewers, r.Window, r.CPU, r.BaseCPU, r.CPUPerViewerMs, r.RSS, r.BaseRSS, r.RSSPerViewer,
		r.MbitPerViewer, r.MaxStall.Round(time.Millisecond), r.StallP50.Round(time.Millisecond),
		r.StallP99.Round(time.Millisecond), r.Stalled, r.Requests, r.Errors)
}
