package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/sim"
)

type runner struct {
	cfg  Config
	hub  *hubProc
	clip *sim.Clip
	log  io.Writer
}

func (r *runner) camID(i int) string { return fmt.Sprintf("bench%d", i+1) }

func (r *runner) run(ctx context.Context) (Result, error) {
	res := Result{Streams: r.cfg.Streams, Window: r.cfg.Window}
	for i := 0; i < r.cfg.Streams; i++ {
		if err := r.hub.call("POST", "/api/v1/cameras", map[string]any{"id": r.camID(i), "name": r.camID(i)}, nil, false); err != nil {
			return res, err
		}
	}
	pid := r.hub.Cmd.Process.Pid
	time.Sleep(time.Second)
	idle, _ := procRSS(pid)
	res.IdleRSS = mib(idle)

	pushCtx, stopPush := context.WithCancel(ctx)
	defer stopPush()
	var push sim.PushResult
	var pushErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		push, pushErr = sim.Push(pushCtx, sim.PushConfig{Target: "rtsp://" + r.hub.RTSP, Cameras: r.cfg.Streams,
			Prefix: "bench", User: "admin", Pass: benchPass, Clip: r.clip})
	}()
	fmt.Fprintf(r.log, "bench: %d streams pushing; warming up %v\n", r.cfg.Streams, r.cfg.Warmup)
	if err := sleepCtx(ctx, r.cfg.Warmup); err != nil {
		return res, err
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		return res, fmt.Errorf("hub cpu: %w", err)
	}
	gen0, t0 := selfCPU(), time.Now()
	rss, rssMax, err := sampleRSS(ctx, pid, r.cfg.Window)
	if err != nil {
		return res, err
	}
	cpu1, _ := procCPU(pid)
	gen1, wall := selfCPU(), time.Since(t0)
	res.HubRSSMax = mib(rssMax)
	streamSec := float64(r.cfg.Streams) * wall.Seconds()
	res.HubCPUms = float64((cpu1 - cpu0).Microseconds()) / 1000 / streamSec
	res.GenCPUms = float64((gen1 - gen0).Microseconds()) / 1000 / streamSec
	res.HubRSS, res.HubRSSPerStream = mib(rss), mib(rss-idle)/float64(r.cfg.Streams)
	res.DroppedFrames, _ = r.hub.metric("vigil_record_dropped_frames_total")

	stopPush()
	wg.Wait()
	for i, f := range push.Frames {
		res.FramesSent += f
		if push.Errs[i] != nil {
			res.PushErrors++
		}
	}
	_ = pushErr
	res.BitrateMbit = r.clipBitrate()
	// Let the hub see the disconnects and close every segment.
	time.Sleep(3 * time.Second)
	gaps, err := r.countGaps()
	if err != nil {
		return res, err
	}
	res.Gaps = gaps
	if err := r.hub.Stop(60 * time.Second); err != nil {
		return res, err
	}
	if r.cfg.Verify {
		r.verify(ctx, push, &res)
	}
	return res, nil
}

func (r *runner) clipBitrate() float64 {
	var bytes int
	for _, f := range r.clip.Frames {
		for _, n := range f.NALUs {
			bytes += len(n) + 4
		}
	}
	sec := float64(len(r.clip.Frames)) / r.clip.FPS
	return float64(bytes) * 8 / sec / 1e6
}

// countGaps counts explicit gaps the hub recorded during the run.
func (r *runner) countGaps() (int, error) {
	n := 0
	for i := 0; i < r.cfg.Streams; i++ {
		var tl struct {
			Spans []json.RawMessage `json:"spans"`
		}
		if err := r.hub.call("GET", "/api/v1/cameras/"+r.camID(i)+"/recordings?from="+
			time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil, &tl, false); err != nil {
			return 0, err
		}
		if len(tl.Spans) > 1 {
			n += len(tl.Spans) - 1
		}
	}
	return n, nil
}

// verify counts each stream's recorded frames with ffprobe: a stream is
// complete when it holds every frame sent but at most the last one.
func (r *runner) verify(ctx context.Context, push sim.PushResult, res *Result) {
	for i, sent := range push.Frames {
		files, _ := filepath.Glob(filepath.Join(r.cfg.Data, "recordings", r.camID(i), "*", "*.mp4"))
		var got uint64
		for _, f := range files {
			got += ffprobePackets(ctx, f)
		}
		res.FramesRecorded += got
		if got+1 >= sent && got <= sent {
			res.CompleteStreams++
		} else {
			fmt.Fprintf(r.log, "bench: stream %s sent %d frames, recorded %d\n", r.camID(i), sent, got)
		}
	}
}

func ffprobePackets(ctx context.Context, path string) uint64 {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	return n
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// sampleRSS reads pid's RSS once a second for d and returns the mean and
// the largest (a Go heap swings between collections, so one reading can
// be off by a third either way).
func sampleRSS(ctx context.Context, pid int, d time.Duration) (mean, peak int64, err error) {
	end := time.Now().Add(d)
	var sum, n int64
	for {
		if rss, err := procRSS(pid); err == nil {
			sum, n, peak = sum+rss, n+1, max(peak, rss)
		}
		left := time.Until(end)
		if left <= 0 {
			break
		}
		if err := sleepCtx(ctx, min(left, time.Second)); err != nil {
			return 0, 0, err
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("hub rss: no reading")
	}
	return sum / n, peak, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// String formats a result as one table row.
func (r Result) String() string {
	return fmt.Sprintf("streams=%d window=%v hub_cpu_ms_per_stream_s=%.2f hub_rss_mib=%.0f (max %.0f, idle %.0f, %.2f/stream) gen_cpu_ms_per_stream_s=%.2f "+
		"bitrate_mbit=%.2f frames_sent=%d recorded=%d complete=%d/%d dropped=%.0f gaps=%d push_errors=%d",
		r.Streams, r.Window, r.HubCPUms, r.HubRSS, r.HubRSSMax, r.IdleRSS, r.HubRSSPerStream, r.GenCPUms,
		r.BitrateMbit, r.FramesSent, r.FramesRecorded, r.CompleteStreams, r.Streams, r.DroppedFrames, r.Gaps, r.PushErrors)
}
