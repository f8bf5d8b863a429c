package transcode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os/exec"
	"strconv"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/stream"
)

// process is one running ffmpeg: fragmented MP4 (one fragment per unit,
// written with package segment) on its stdin, a reader goroutine on its
// stdout that parses ffmpeg's fragmented MP4 and publishes into the job's
// dst stream.
type process struct {
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	stdin   io.WriteCloser
	buf     []byte
	seq     uint32
	base    int64 // source DTS of the first fed unit
	lastDTS int64
	times   *ptsMap
	started time.Time
	done    chan struct{}
	err     error
	cpu     time.Duration // user+system time, once done
	ran     time.Duration // wall time, once done
}

// ffmpegArgs is the command line: fragmented MP4 in, H.264 fragmented MP4
// out, one fragment per frame each way, 90 kHz timescale, no B-frames.
func ffmpegArgs(cfg Config, gopFrames int) []string {
	return []string{
		"-nostdin", "-hide_banner", "-loglevel", "error",
		"-probesize", "32768", "-analyzeduration", "0", "-thread_type", "slice",
		"-f", "mp4", "-i", "pipe:0",
		"-map", "0:v:0", "-an", "-sn", "-dn",
		"-c:v", "libx264", "-preset", cfg.Preset, "-tune", "zerolatency",
		"-g", strconv.Itoa(gopFrames), "-bf", "0", "-pix_fmt", "yuv420p",
		"-fps_mode", "passthrough", "-video_track_timescale", "90000",
		"-movflags", "empty_moov+default_base_moof+frag_every_frame",
		"-flush_packets", "1", "-f", "mp4", "pipe:1",
	}
}

// startProcess starts ffmpeg for a source video track; base is the DTS of
// the first unit it will be fed (a keyframe).
func startProcess(ctx context.Context, cfg Config, track media.Track, base int64, fps float64,
	dst *stream.Stream, log *slog.Logger,
) (*process, error) {
	if fps <= 0 || fps > 240 {
		fps = 25
	}
	gop := max(1, int(math.Round(fps*cfg.GOP.Seconds())))
	pctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(pctx, cfg.FFmpeg, ffmpegArgs(cfg, gop)...)
	cmd.WaitDelay = 2 * time.Second
	errLog := newStderrLog(log)
	cmd.Stderr = errLog
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ffmpeg stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ffmpeg stdout: %w", err)
	}
	track.ID = 0
	init, err := segment.Init([]media.Track{track})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ffmpeg input init: %w", err)
	}
	p := &process{
		cmd: cmd, cancel: cancel, stdin: stdin, buf: init, base: base, lastDTS: base - 3600,
		times: newPTSMap(), started: time.Now(), done: make(chan struct{}),
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", cfg.FFmpeg, err)
	}
	go func() {
		out := &output{dst: dst, times: p.times, log: log}
		rerr := readOutput(bufio.NewReaderSize(stdout, 64<<10), out.init, out.handle)
		out.close()
		_, _ = io.Copy(io.Discard, stdout)
		werr := cmd.Wait()
		if ps := cmd.ProcessState; ps != nil {
			p.cpu = ps.UserTime() + ps.SystemTime()
		}
		p.ran = time.Since(p.started)
		p.err = errors.Join(werr, errLog.lastError())
		if p.err == nil && rerr != nil && !errors.Is(rerr, io.EOF) {
			p.err = rerr
		}
		if p.err == nil {
			p.err = errors.New("ffmpeg exited")
		}
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// write feeds one video unit as one fragment (the first write also
// carries the init block). The sample's duration is the previous DTS step:
// ffmpeg times fragments by their tfdt, so only the last one's matters.
func (p *process) write(au *media.AccessUnit) error {
	dts := au.DTS - p.base
	if dts < 0 || au.PTS < au.DTS {
		return nil // out of order for this process: skip
	}
	dur := uint32(min(max(au.DTS-p.lastDTS, 1), 90000))
	p.lastDTS = au.DTS
	p.times.put(au.PTS-p.base, timing{pts: au.PTS, wall: au.Wall})
	run := segment.Run{TrackID: 1, BaseTime: uint64(dts), Samples: []segment.Sample{{
		Duration: dur, Size: uint32(au.Size()), CTO: int32(au.PTS - au.DTS), NonSync: !au.Key,
	}}}
	p.seq++
	p.buf = segment.AppendFragmentHeader(p.buf, p.seq, []segment.Run{run})
	p.buf = au.AppendAVCC(p.buf)
	_, err := p.stdin.Write(p.buf)
	if cap(p.buf) > 4<<20 {
		p.buf = nil
	} else {
		p.buf = p.buf[:0]
	}
	if err != nil {
		return fmt.Errorf("feed ffmpeg: %w", err)
	}
	return nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill stops ffmpeg at once (SIGKILL through its context).
func (p *process) kill() {
	p.cancel()
	_ = p.stdin.Close()
}

// wait blocks until ffmpeg and the output reader have ended.
func (p *process) wait() error {
	<-p.done
	return p.err
}
