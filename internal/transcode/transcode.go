// Package transcode turns a camera's H.265 video into H.264 on demand, for
// browsers that cannot decode H.265 (Chromium plays neither H.265 over MSE
// nor over WebRTC).
//
// One ffmpeg process per camera serves every viewer of that camera: the
// first Acquire starts it, the last release stops it after a grace period.
// The transcode reads the camera's stream through a stream.Queue, so a slow
// ffmpeg loses its own frames and never delays the camera, feeds the units
// to ffmpeg as MPEG-TS on stdin (keeping their timestamps: ffmpeg runs with
// -copyts), reads MPEG-TS back from stdout and publishes the H.264 units,
// with the source's PTS and wall times, into a derived stream.Stream.
package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// Errors returned by Acquire.
var (
	// ErrNotStreaming: the source has no publisher right now.
	ErrNotStreaming = errors.New("transcode: camera is not streaming")
	// ErrNoVideo: the source has no video track.
	ErrNoVideo = errors.New("transcode: camera has no video track")
	// ErrNotRunning: Run has not started or has returned.
	ErrNotRunning = errors.New("transcode: manager is not running")
)

// Config configures a Manager. Zero values take the defaults.
type Config struct {
	// FFmpeg is the ffmpeg executable. It defaults to "ffmpeg" (from PATH).
	FFmpeg string
	// Idle is how long a transcode keeps running after its last viewer
	// released it (a viewer that reloads the page finds it warm). It
	// defaults to 5 s.
	Idle time.Duration
	// Preset is the libx264 preset. It defaults to "ultrafast".
	Preset string
	// GOP is the output keyframe interval. It defaults to 2 s.
	GOP time.Duration
	// MaxBackoff caps the pause before restarting an ffmpeg that died
	// while viewers remain. It defaults to 10 s (first pause 500 ms).
	MaxBackoff time.Duration
}

func (c Config) withDefaults() Config {
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Idle <= 0 {
		c.Idle = 5 * time.Second
	}
	if c.Preset == "" {
		c.Preset = "ultrafast"
	}
	if c.GOP <= 0 {
		c.GOP = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	return c
}

// Manager runs the transcodes, one per camera, shared by its viewers.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // Run's context; nil before Run and after it returns
	jobs    map[string]*job // by camera id: the current job of each camera
	wg      sync.WaitGroup
	stopped bool
}

// New returns a Manager; Run must be running for Acquire to succeed. The
// caller names the component in log (nil discards).
func New(cfg Config, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg.withDefaults(), log: log, jobs: map[string]*job{}}
}

// Run serves Acquire until ctx ends, then stops every transcode (killing
// its ffmpeg) and returns once all of them have exited.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.ctx != nil || m.stopped {
		m.mu.Unlock()
		return errors.New("transcode: Run called twice")
	}
	m.ctx = ctx
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	m.stopped = true
	m.ctx = nil
	for id, j := range m.jobs {
		j.stop()
		delete(m.jobs, id)
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// Acquire returns an H.264 stream of src for a browser viewer and the func
// that releases it (call it exactly once; later calls do nothing). When
// src's video is already H.264 it returns src itself. Otherwise it starts,
// or joins, the camera's one transcode; dst has no publisher until ffmpeg
// delivers its first keyframe (typically well under a second).
func (m *Manager) Acquire(cameraID string, src *stream.Stream) (dst *stream.Stream, release func(), err error) {
	tracks := src.Tracks()
	if tracks == nil {
		return nil, nil, ErrNotStreaming
	}
	video := videoTrack(tracks)
	switch {
	case video < 0:
		return nil, nil, ErrNoVideo
	case tracks[video].Codec == media.CodecH264:
		return src, func() {}, nil
	case tracks[video].Codec != media.CodecH265:
		return nil, nil, fmt.Errorf("transcode: camera %s: unsupported video codec %s", cameraID, tracks[video].Codec)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		return nil, nil, ErrNotRunning
	}
	j := m.jobs[cameraID]
	if j == nil || j.src != src {
		// A replaced stream (camera re-created) gets a new job; the old
		// one ends when its own viewers release it.
		j = newJob(m, cameraID, src)
		m.jobs[cameraID] = j
		m.wg.Go(func() { j.run() })
	}
	j.refs++
	if j.idle != nil {
		j.idle.Stop()
		j.idle = nil
	}
	var once sync.Once
	return j.dst, func() { once.Do(func() { m.release(j) }) }, nil
}

// release drops one reference; the last one arms the idle timer.
func (m *Manager) release(j *job) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j.refs--
	if j.refs > 0 || m.stopped {
		return
	}
	j.idle = time.AfterFunc(m.cfg.Idle, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if j.refs > 0 || j.idle == nil {
			return
		}
		j.idle = nil
		if m.jobs[j.camera] == j {
			delete(m.jobs, j.camera)
		}
		j.stop()
	})
}

// Stats describes one running transcode.
type Stats struct {
	// Camera is the camera id.
	Camera string
	// Viewers holds the references not yet released.
	Viewers int
	// Starts counts ffmpeg processes started (restarts included).
	Starts int
	// PID is the running ffmpeg's process id, 0 when none runs.
	PID int
	// Dropped counts source units the transcode's queue dropped because
	// ffmpeg fell behind.
	Dropped uint64
}

// Stats returns one entry per running transcode.
func (m *Manager) Stats() []Stats {
	m.mu.Lock()
	jobs := make([]*job, 0, len(m.jobs))
	refs := make([]int, 0, len(m.jobs))
	for _, j := range m.jobs {
		jobs = append(jobs, j)
		refs = append(refs, j.refs)
	}
	m.mu.Unlock()
	out := make([]Stats, len(jobs))
	for i, j := range jobs {
		starts, pid := j.procStats()
		out[i] = Stats{Camera: j.camera, Viewers: refs[i], Starts: starts, PID: pid, Dropped: j.q.Dropped()}
	}
	return out
}

// videoTrack returns the index of the first video track, or -1.
func videoTrack(tracks []media.Track) int {
	for i, t := range tracks {
		if t.IsVideo() {
			return i
		}
	}
	return -1
}
