// Package bench is Vigil's recording load benchmark (`vigil bench`): it
// starts a real hub process, pushes N simulated cameras into it over
// loopback with the in-process load generator, measures the hub's CPU and
// memory over a steady window, then checks with ffprobe that every
// stream's recording is complete.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vigil-video/vigil/assets/clip"
	"github.com/vigil-video/vigil/internal/sim"
)

// Config is one benchmark run.
type Config struct {
	// Vigil is the vigil binary used to run the hub (default: this one).
	Vigil string
	// Streams is the number of pushed cameras.
	Streams int
	// Warmup runs before the measured window; Window is its length.
	Warmup, Window time.Duration
	// Clip is the H.264 clip to push; empty generates a 1080p 25 fps
	// ~4 Mbit/s clip from the built-in footage with ffmpeg.
	Clip string
	// Data is the hub's data dir (default: a temporary dir, removed after).
	Data string
	// Keep keeps the data dir.
	Keep bool
	// Verify probes every segment with ffprobe (default true in the CLI).
	Verify bool
}

// Result is what one run measured.
type Result struct {
	Streams         int
	Window          time.Duration
	HubCPUms        float64 // hub utime+stime per stream-second
	HubRSSPerStream float64 // MiB: (mean RSS under load - idle RSS) / streams
	HubRSS, IdleRSS float64 // MiB; HubRSS is the mean of one reading a second over the window
	HubRSSMax       float64 // MiB, the largest reading
	GenCPUms        float64 // generator CPU per stream-second
	BitrateMbit     float64 // per stream, as sent
	FramesSent      uint64
	FramesRecorded  uint64
	CompleteStreams int
	DroppedFrames   float64 // the hub's vigil_record_dropped_frames_total
	Gaps            int     // explicit gaps in the index during the run
	PushErrors      int
}

// Run runs the benchmark and writes progress to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (Result, error) {
	if cfg.Streams <= 0 {
		return Result{}, errors.New("bench: streams must be positive")
	}
	cleanup, err := setDefaults(&cfg.Vigil, &cfg.Data, "vigil-bench-", cfg.Keep)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	clip, err := loadClip(ctx, cfg.Clip, log)
	if err != nil {
		return Result{}, err
	}
	h, err := startHub(ctx, cfg.Vigil, cfg.Data)
	if err != nil {
		return Result{}, err
	}
	defer h.Kill()
	r := &runner{cfg: cfg, hub: h, clip: clip, log: log}
	return r.run(ctx)
}

// loadClip loads the push clip, making the default one when needed.
func loadClip(ctx context.Context, path string, log io.Writer) (*sim.Clip, error) {
	if path == "" {
		var err error
		if path, err = defaultClip(ctx, log); err != nil {
			return nil, err
		}
	}
	return sim.LoadClipFile(path, 25)
}

// defaultClip transcodes the built-in footage to 1080p25 at ~4 Mbit/s
// (GOP 2 s, no B-frames, as cameras send), cached under the user cache dir.
func defaultClip(ctx context.Context, log io.Writer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "vigil")
	out := filepath.Join(dir, "bench-1080p25-4M.mp4")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	src := filepath.Join(dir, "builtin.mp4")
	if err := os.WriteFile(src, clip.MP4(), 0o640); err != nil {
		return "", err
	}
	fmt.Fprintln(log, "bench: making a 1080p 4 Mbit/s clip with ffmpeg (once)...")
	tmp := out + ".tmp.mp4"
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src, "-t", "20",
		"-vf", "scale=1920:1080,fps=25", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
		"-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p",
		"-x264-params", "scenecut=0:nal-hrd=cbr", "-an", tmp)
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make bench clip with ffmpeg: %w", err)
	}
	return out, os.Rename(tmp, out)
}
