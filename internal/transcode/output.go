package transcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// maxBox bounds one box of ffmpeg's output (a frame, or the init block).
const maxBox = 64 << 20

// Errors of the output parser.
var (
	errNoH264   = errors.New("ffmpeg output has no h264 track")
	errBadBox   = errors.New("ffmpeg output: bad box")
	errNoInit   = errors.New("ffmpeg output: fragment before init")
	errBoxLarge = errors.New("ffmpeg output: box too large")
)

// outputInit is what the init block tells about the H.264 track.
type outputInit struct {
	trackID   int
	timescale uint32
	sps, pps  []byte
}

// readOutput reads fragmented MP4 from r: it calls onInit once with the
// H.264 track's parameter sets, then onAU for every sample (90 kHz PTS and
// DTS, NAL units), until r ends or holds something it cannot parse.
func readOutput(r io.Reader, onInit func(sps, pps []byte), onAU func(pts, dts int64, nalus [][]byte)) error {
	var head []byte // ftyp, then moof waiting for its mdat
	var in *outputInit
	for {
		typ, box, err := readBox(r)
		if err != nil {
			return err
		}
		switch typ {
		case "ftyp":
			head = box
		case "moov":
			if in, err = parseOutputInit(append(head, box...)); err != nil {
				return err
			}
			head = nil
			onInit(in.sps, in.pps)
		case "moof":
			head = box
		case "mdat":
			if in == nil || head == nil {
				return errNoInit
			}
			if err := emitParts(append(head, box...), in, onAU); err != nil {
				return err
			}
			head = nil
		}
	}
}

// readBox reads one whole box: its type and bytes (header included).
func readBox(r io.Reader) (string, []byte, error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:8]); err != nil {
		return "", nil, err
	}
	size := uint64(binary.BigEndian.Uint32(h[:4]))
	typ := string(h[4:8])
	hl := 8
	if size == 1 {
		if _, err := io.ReadFull(r, h[8:16]); err != nil {
			return "", nil, fmt.Errorf("%w: %s: %w", errBadBox, typ, err)
		}
		size, hl = binary.BigEndian.Uint64(h[8:16]), 16
	}
	switch {
	case size < uint64(hl):
		return "", nil, fmt.Errorf("%w: %q size %d", errBadBox, typ, size)
	case size > maxBox:
		return "", nil, fmt.Errorf("%w: %q size %d", errBoxLarge, typ, size)
	}
	// Grow with the data read, so a lying size costs nothing.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, 1<<20)))
	buf.Write(h[:hl])
	if _, err := io.CopyN(buf, r, int64(size)-int64(hl)); err != nil {
		return "", nil, fmt.Errorf("%w: %q: %w", errBadBox, typ, err)
	}
	return typ, buf.Bytes(), nil
}

func parseOutputInit(b []byte) (*outputInit, error) {
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("ffmpeg output init: %w", err)
	}
	for _, t := range init.Tracks {
		if c, ok := t.Codec.(*mp4codecs.H264); ok && t.TimeScale > 0 {
			return &outputInit{trackID: t.ID, timescale: t.TimeScale, sps: c.SPS, pps: c.PPS}, nil
		}
	}
	return nil, errNoH264
}

// emitParts parses one moof+mdat and hands its H.264 samples to onAU.
func emitParts(b []byte, in *outputInit, onAU func(pts, dts int64, nalus [][]byte)) error {
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return fmt.Errorf("ffmpeg output fragment: %w", err)
	}
	to90k := func(v int64) int64 { return v * 90000 / int64(in.timescale) }
	for _, part := range parts {
		for _, pt := range part.Tracks {
			if pt.ID != in.trackID {
				continue
			}
			dts := int64(pt.BaseTime)
			for _, s := range pt.Samples {
				var avcc h264.AVCC
				if err := avcc.Unmarshal(s.Payload); err == nil && len(avcc) > 0 {
					onAU(to90k(dts+int64(s.PTSOffset)), to90k(dts), avcc)
				}
				dts += int64(s.Duration)
			}
		}
	}
	return nil
}

// timing is what the output needs of a fed unit: its source PTS and wall
// time.
type timing struct {
	pts  int64
	wall time.Time
}

// ptsMap remembers the timing of recently fed units by their 33-bit fed
// PTS (ffmpeg keeps it with -copyts), bounded.
type ptsMap struct {
	mu    sync.Mutex
	m     map[int64]timing
	order []int64 // fed order, oldest first
	first int64   // key of the first unit fed
	any   bool
}

const ptsMapMax = 512

func newPTSMap() *ptsMap { return &ptsMap{m: make(map[int64]timing, ptsMapMax)} }

func (p *ptsMap) put(key int64, t timing) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.any {
		p.first, p.any = key, true
	}
	if len(p.order) >= ptsMapMax {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
	p.m[key] = t
	p.order = append(p.order, key)
}

func (p *ptsMap) take(key int64) (timing, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.m[key]
	if ok {
		delete(p.m, key)
	}
	return t, ok
}

// firstKey returns the key of the first unit fed.
func (p *ptsMap) firstKey() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first, p.any
}

// output turns ffmpeg's H.264 samples into stream units on dst. ffmpeg
// shifts timestamps by a constant (it starts its output near zero): the
// first output unit is the first fed keyframe, which fixes the shift, and
// every later one finds its source PTS and wall time by its fed PTS.
type output struct {
	dst   *stream.Stream
	times *ptsMap
	log   *slog.Logger

	pub      *stream.Publisher
	sps, pps []byte
	shift    int64 // output PTS - fed PTS
	anchored bool
	// last matched output unit, to place units ffmpeg made up.
	lastOut    int64
	lastTiming timing
	matched    bool
}

// init takes the parameter sets of ffmpeg's init block.
func (o *output) init(sps, pps []byte) {
	o.sps, o.pps = sps, pps
}

// handle publishes one output unit. nalus may alias the reader's buffers:
// they are copied.
func (o *output) handle(pts, dts int64, nalus [][]byte) {
	au, sps, pps := normalizeH264(nalus, o.sps, o.pps)
	if au == nil {
		return
	}
	if sps != nil && pps != nil && (!bytes.Equal(sps, o.sps) || !bytes.Equal(pps, o.pps) || o.pub == nil) {
		o.sps, o.pps = sps, pps
		if au.Key {
			o.publish()
		}
	}
	if o.pub == nil && au.Key && o.sps != nil && o.pps != nil {
		o.publish()
	}
	if o.pub == nil {
		return
	}
	t, ok := o.timing(pts)
	if !ok {
		return
	}
	au.PTS = t.pts
	au.DTS = t.pts - (pts - dts)
	au.Wall = t.wall
	if err := o.pub.Write(au); err != nil {
		o.log.Debug("publish transcoded unit", "err", err)
	}
}

// timing finds the source timing of an output PTS.
func (o *output) timing(pts int64) (timing, bool) {
	if !o.anchored {
		first, ok := o.times.firstKey()
		if !ok {
			return timing{}, false
		}
		o.shift, o.anchored = pts-first, true
	}
	t, ok := o.times.take(pts - o.shift)
	switch {
	case ok:
		o.lastOut, o.lastTiming, o.matched = pts, t, true
	case o.matched:
		d := pts - o.lastOut
		t = timing{pts: o.lastTiming.pts + d, wall: o.lastTiming.wall.Add(time.Duration(d) * time.Second / 90000)}
	default:
		return timing{}, false
	}
	return t, true
}

// publish (re)starts dst's session with the current parameter sets.
func (o *output) publish() {
	tr := media.Track{Codec: media.CodecH264, ClockRate: 90000, SPS: o.sps, PPS: o.pps}
	var s h264.SPS
	if err := s.Unmarshal(o.sps); err == nil {
		tr.Width, tr.Height = s.Width(), s.Height()
	} else {
		o.log.Warn("transcoded SPS", "err", err)
	}
	if o.pub != nil {
		o.pub.Close()
	}
	o.pub = o.dst.Publish([]media.Track{tr})
}

func (o *output) close() {
	if o.pub != nil {
		o.pub.Close()
		o.pub = nil
	}
}

// normalizeH264 copies an output unit into one buffer, drops access unit
// delimiters and, on keyframes, puts the SPS and PPS first (package media
// requires it). It returns the unit (nil when empty) and the parameter
// sets it carried.
func normalizeH264(nalus [][]byte, curSPS, curPPS []byte) (au *media.AccessUnit, sps, pps []byte) {
	n := 0
	for _, nalu := range nalus {
		n += len(nalu)
	}
	buf := make([]byte, 0, n)
	var rest [][]byte
	key := false
	for _, nalu := range nalus {
		if len(nalu) == 0 {
			continue
		}
		start := len(buf)
		buf = append(buf, nalu...)
		c := buf[start:len(buf):len(buf)]
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
		case h264.NALUTypeSPS:
			sps = c
		case h264.NALUTypePPS:
			pps = c
		case h264.NALUTypeIDR:
			key = true
			rest = append(rest, c)
		default:
			rest = append(rest, c)
		}
	}
	if len(rest) == 0 {
		return nil, sps, pps
	}
	au = &media.AccessUnit{Key: key, NALUs: rest}
	ks, kp := sps, pps
	if ks == nil || kp == nil {
		ks, kp = curSPS, curPPS
	}
	if key && ks != nil && kp != nil {
		au.NALUs = append([][]byte{ks, kp}, rest...)
	}
	return au, sps, pps
}

// stderrLog logs ffmpeg's stderr lines, at most stderrBurst per
// stderrWindow, and keeps the last line for the exit error.
type stderrLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	partial    []byte
	window     time.Time
	n          int
	suppressed int
	last       string
}

const (
	stderrBurst  = 5
	stderrWindow = 10 * time.Second
)

func newStderrLog(log *slog.Logger) *stderrLog { return &stderrLog{log: log} }

// Write implements io.Writer.
func (s *stderrLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
		if line != "" {
			s.line(line)
		}
	}
	if len(s.partial) > 4096 {
		s.line(string(s.partial))
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *stderrLog) line(line string) {
	s.last = line
	now := time.Now()
	if now.Sub(s.window) > stderrWindow {
		if s.suppressed > 0 {
			s.log.Warn("ffmpeg lines suppressed", "count", s.suppressed)
		}
		s.window, s.n, s.suppressed = now, 0, 0
	}
	if s.n >= stderrBurst {
		s.suppressed++
		return
	}
	s.n++
	s.log.Warn("ffmpeg", "line", line)
}

func (s *stderrLog) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == "" {
		return nil
	}
	return fmt.Errorf("ffmpeg: %s", s.last)
}
