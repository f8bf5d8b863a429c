package transcode

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// longRun is how long an ffmpeg must live for its restart backoff to reset.
const longRun = 30 * time.Second

// job is one camera's transcode: it reads the source through a queue and
// keeps one ffmpeg process fed while the source publishes.
type job struct {
	m      *Manager
	camera string
	src    *stream.Stream
	dst    *stream.Stream
	q      *stream.Queue
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	// refs and idle are guarded by m.mu.
	refs int
	idle *time.Timer

	// Run goroutine state.
	video     int // index of the source's video track, -1 when none
	tracks    []media.Track
	proc      *process
	failures  int
	nextStart time.Time

	mu     sync.Mutex // guards starts and the current pid
	starts int
	pid    int
}

// newJob is called with m.mu held and m.ctx set.
func newJob(m *Manager, camera string, src *stream.Stream) *job {
	ctx, cancel := context.WithCancel(m.ctx)
	return &job{
		m:      m,
		camera: camera,
		src:    src,
		dst:    stream.New(camera+"~h264", stream.Options{}),
		q:      stream.NewQueue(stream.QueueOptions{}),
		log:    m.log.With("camera", camera),
		ctx:    ctx,
		cancel: cancel,
		video:  -1,
	}
}

// stop ends the job; run returns soon after.
func (j *job) stop() { j.cancel() }

func (j *job) procStats() (starts, pid int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.starts, j.pid
}

// run consumes the source until the job is stopped.
func (j *job) run() {
	j.src.AddReader(j.q)
	defer j.src.RemoveReader(j.q)
	defer j.stopProc()
	j.log.Info("transcode started")
	defer j.log.Info("transcode stopped", "dropped", j.q.Dropped())
	for {
		it, err := j.q.Next(j.ctx)
		if err != nil {
			return
		}
		switch it.Kind {
		case stream.ItemBegin:
			j.stopProc()
			j.tracks = it.Tracks
			j.video = videoTrack(it.Tracks)
		case stream.ItemEnd:
			j.stopProc()
			j.tracks, j.video = nil, -1
		case stream.ItemUnit:
			if j.video >= 0 && it.Unit.Track == j.video {
				j.feed(it.Unit)
			}
		}
	}
}

// feed hands one video unit to ffmpeg, starting (or restarting, after its
// backoff) the process on a keyframe.
func (j *job) feed(au *media.AccessUnit) {
	if j.proc != nil && j.proc.exited() {
		j.procDied(j.proc.wait())
	}
	if j.proc == nil {
		if !au.Key || time.Now().Before(j.nextStart) {
			return
		}
		p, err := startProcess(j.ctx, j.m.cfg, withParams(j.tracks[j.video], au), au.DTS, j.src.Stats().FPS, j.dst, j.log)
		if err != nil {
			j.procDied(err)
			return
		}
		j.proc = p
		j.mu.Lock()
		j.starts++
		j.pid = p.pid()
		j.mu.Unlock()
	}
	if err := j.proc.write(au); err != nil {
		j.proc.kill()
		j.procDied(errors.Join(err, j.proc.wait()))
	}
}

// procDied records an unexpected end of ffmpeg and schedules the restart.
func (j *job) procDied(err error) {
	if j.proc != nil && time.Since(j.proc.started) > longRun {
		j.failures = 0
	}
	j.proc = nil
	j.setPID(0)
	if j.ctx.Err() != nil {
		return
	}
	j.failures++
	pause := min(500*time.Millisecond<<min(j.failures-1, 10), j.m.cfg.MaxBackoff)
	j.nextStart = time.Now().Add(pause)
	j.log.Warn("ffmpeg ended; restarting", "err", err, "failures", j.failures, "pause", pause)
}

// stopProc stops the running ffmpeg, if any, on purpose.
func (j *job) stopProc() {
	if j.proc == nil {
		return
	}
	j.proc.kill()
	_ = j.proc.wait()
	j.log.Info("ffmpeg stopped", "ran", j.proc.ran.Round(time.Millisecond), "cpu", j.proc.cpu.Round(time.Millisecond))
	j.proc = nil
	j.setPID(0)
}

func (j *job) setPID(pid int) {
	j.mu.Lock()
	j.pid = pid
	j.mu.Unlock()
}

// withParams fills the track's parameter sets from a keyframe's leading
// VPS/SPS/PPS (sources whose SDP had none, or that changed them).
func withParams(t media.Track, key *media.AccessUnit) media.Track {
	for _, n := range key.NALUs {
		if len(n) == 0 {
			continue
		}
		if t.Codec == media.CodecH265 {
			switch (n[0] >> 1) & 0x3f {
			case 32:
				t.VPS = n
			case 33:
				t.SPS = n
			case 34:
				t.PPS = n
			}
			continue
		}
		switch n[0] & 0x1f {
		case 7:
			t.SPS = n
		case 8:
			t.PPS = n
		}
	}
	return t
}
