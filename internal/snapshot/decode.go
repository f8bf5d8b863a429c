package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxOutput bounds what one ffmpeg run may write to stdout.
const maxOutput = 64 << 20

// jpegSOI starts every JPEG picture; it cannot occur inside one, where
// 0xFF bytes are stuffed or start markers other than SOI.
var jpegSOI = []byte{0xFF, 0xD8, 0xFF}

// errNoPicture: the decoder gave no picture for the selected frames.
var errNoPicture = errors.New("decoder produced no picture")

// decodeArgs is one ffmpeg run: the input format, the frame selection
// (an ffmpeg select expression) and input options.
type decodeArgs struct {
	inputFormat string
	inputOpts   []string
	selectExpr  string
	width       int
}

// args returns ffmpeg's command line: read in from stdin, keep the
// selected video frames, scale, and write them as JPEGs to stdout.
func (d decodeArgs) args() []string {
	a := []string{"-hide_banner", "-nostdin", "-loglevel", "error"}
	a = append(a, d.inputOpts...)
	a = append(a, "-f", d.inputFormat, "-i", "pipe:0", "-map", "0:v:0", "-an", "-sn", "-dn")
	vf := "select=" + d.selectExpr
	if d.width > 0 {
		vf += ",scale=" + strconv.Itoa(d.width) + ":-2"
	}
	return append(a, "-vf", vf, "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", "3",
		"-f", "image2pipe", "pipe:1")
}

// decode runs ffmpeg on in and returns the last JPEG it wrote. It waits
// for a free decoder slot up to Config.QueueWait (ErrBusy after).
func (s *Service) decode(ctx context.Context, in io.Reader, d decodeArgs) ([]byte, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var out capBuffer
	var stderr capBuffer
	out.max, stderr.max = maxOutput, 4<<10
	cmd := exec.CommandContext(ctx, s.cfg.FFmpeg, d.args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &stderr
	cmd.WaitDelay = time.Second
	s.track(1)
	err = cmd.Run()
	s.track(-1)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("run ffmpeg: %w", ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("run ffmpeg: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if out.overflow {
		return nil, fmt.Errorf("run ffmpeg: more than %d bytes of pictures", maxOutput)
	}
	i := bytes.LastIndex(out.Bytes(), jpegSOI)
	if i < 0 {
		return nil, errNoPicture
	}
	return out.Bytes()[i:], nil
}

// acquire takes a decoder slot, waiting up to Config.QueueWait.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	default:
	}
	t := time.NewTimer(s.cfg.QueueWait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a decoder: %w", ctx.Err())
	}
}

// track counts running ffmpeg processes and keeps the peak.
func (s *Service) track(delta int32) {
	n := s.running.Add(delta)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// capBuffer keeps up to max bytes and notes whether more came.
type capBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
