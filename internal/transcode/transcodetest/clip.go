// Package transcodetest gives tests a real H.265 camera: a clip encoded by
// ffmpeg's libx265, split into access units, and a publisher that loops it.
package transcodetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/testutil"
)

// Clip is an H.265 clip: 4 s of ffmpeg's testsrc2 at 640x360, 25 fps, a
// keyframe (IDR, with VPS/SPS/PPS) every second, no B-frames.
type Clip struct {
	Track media.Track
	// Units in decoding order, PTS = DTS = i*3600 (90 kHz).
	Units []*media.AccessUnit
}

// FPS and FrameTicks of the clip.
const (
	FPS        = 25
	FrameTicks = 90000 / FPS
)

// clipCache encodes the clip once per test binary: libx265 costs about two
// CPU-seconds and every test wants the same bytes.
var clipCache = sync.OnceValues(encode)

// H265 returns the clip (shared: do not modify it), or skips the test when
// ffmpeg is missing.
func H265(t testing.TB) *Clip {
	t.Helper()
	testutil.RequireTool(t, "ffmpeg")
	c, err := clipCache()
	if err != nil {
		t.Fatalf("h265 clip: %v", err)
	}
	return c
}

func encode() (*Clip, error) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-h265-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clip.h265")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=640x360:rate=%d", FPS), "-t", "4", "-c:v", "libx265", "-pix_fmt", "yuv420p",
		"-x265-params", "keyint=25:min-keyint=25:bframes=0:repeat-headers=1:log-level=error",
		"-f", "hevc", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("encode: %w: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Split(b)
}

// Split groups an Annex-B H.265 stream into access units at FPS, taking
// the track's parameter sets from the stream.
func Split(b []byte) (*Clip, error) {
	c := &Clip{Track: media.Track{Codec: media.CodecH265, ClockRate: 90000, Width: 640, Height: 360}}
	var cur [][]byte
	hasVCL := false
	flush := func() {
		if len(cur) == 0 {
			return
		}
		key := false
		for _, n := range cur {
			if typ := (n[0] >> 1) & 0x3f; typ >= 16 && typ <= 21 {
				key = true
			}
		}
		i := int64(len(c.Units))
		c.Units = append(c.Units, &media.AccessUnit{PTS: i * FrameTicks, DTS: i * FrameTicks, Key: key, NALUs: cur})
		cur, hasVCL = nil, false
	}
	for _, n := range splitAnnexB(b) {
		typ := (n[0] >> 1) & 0x3f
		vcl := typ < 32
		switch {
		case typ == 35: // access unit delimiter
			flush()
			continue
		case typ >= 32 && typ <= 34 && hasVCL:
			flush()
		case vcl && hasVCL && len(n) > 2 && n[2]&0x80 != 0: // first slice of a new picture
			flush()
		}
		switch typ {
		case 32:
			c.Track.VPS = n
		case 33:
			c.Track.SPS = n
		case 34:
			c.Track.PPS = n
		}
		cur = append(cur, n)
		hasVCL = hasVCL || vcl
	}
	flush()
	if len(c.Units) == 0 || !c.Units[0].Key {
		return nil, errors.New("clip does not start with a keyframe")
	}
	return c, nil
}

// splitAnnexB splits a byte stream at its 00 00 01 start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			out = append(out, trimZeros(b[start:i]))
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return slices.DeleteFunc(out, func(n []byte) bool { return len(n) == 0 })
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// Loop publishes the clip into p over and over at speed x real time, with
// growing timestamps and wall times from now, until ctx ends or the
// publisher is closed.
func Loop(ctx context.Context, p *stream.Publisher, c *Clip, speed float64) {
	start := time.Now()
	frame := time.Duration(float64(time.Second) / FPS / speed)
	for n := int64(0); ; n++ {
		off := n * int64(len(c.Units)) * FrameTicks
		for _, au := range c.Units {
			u := *au
			u.PTS += off
			u.DTS += off
			u.Wall = start.Add(time.Duration(u.PTS) * time.Second / 90000)
			if p.Write(&u) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(frame):
			}
		}
	}
}
