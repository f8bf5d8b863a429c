package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"

	"github.com/vigil-video/vigil/assets/clip"
)

// ClockRate is the clock rate of Frame timestamps (the RTP video clock).
const ClockRate = 90000

// ErrNoVideo is returned when a clip has no H.264 video.
var ErrNoVideo = errors.New("no h264 video")

// Frame is one H.264 access unit of a clip.
type Frame struct {
	// PTS and DTS in ClockRate units from the clip's start.
	PTS, DTS int64
	// Key is true for IDR frames.
	Key bool
	// NALUs are the frame's NAL units without prefixes.
	NALUs [][]byte
}

// Clip is an H.264 clip held in memory, ready to be looped.
type Clip struct {
	// SPS and PPS of the stream.
	SPS, PPS []byte
	// Width and Height of the picture.
	Width, Height int
	// FPS is the average frame rate.
	FPS float64
	// Frames in decoding order. The first one is a keyframe.
	Frames []Frame
	// Duration of one loop in ClockRate units: the DTS distance from the
	// first frame of one loop to the first frame of the next.
	Duration int64
}

// DefaultClip returns the embedded clip (see package assets/clip).
func DefaultClip() (*Clip, error) {
	c, err := LoadMP4(clip.MP4())
	if err != nil {
		return nil, fmt.Errorf("embedded clip: %w", err)
	}
	return c, nil
}

// LoadClipFile reads a clip from an MP4 file, or from an Annex-B H.264
// elementary stream (.h264, .264) played at fps.
func LoadClipFile(path string, fps float64) (*Clip, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load clip: %w", err)
	}
	var c *Clip
	switch strings.ToLower(filepath.Ext(path)) {
	case ".h264", ".264":
		c, err = ParseAnnexB(b, fps)
	default:
		c, err = LoadMP4(b)
	}
	if err != nil {
		return nil, fmt.Errorf("load clip %s: %w", filepath.Base(path), err)
	}
	return c, nil
}

// LoadMP4 reads the first H.264 track of an MP4 file (moov before mdat).
func LoadMP4(b []byte) (*Clip, error) {
	var p pmp4.Presentation
	if err := p.Unmarshal(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("parse mp4: %w", err)
	}
	for _, tr := range p.Tracks {
		codec, ok := tr.Codec.(*mp4.CodecH264)
		if ok && tr.TimeScale > 0 && len(tr.Samples) > 0 {
			return clipFromTrack(tr, codec)
		}
	}
	return nil, ErrNoVideo
}

func clipFromTrack(tr *pmp4.Track, codec *mp4.CodecH264) (*Clip, error) {
	c := &Clip{SPS: codec.SPS, PPS: codec.PPS}
	scale := func(v int64) int64 { return v * ClockRate / int64(tr.TimeScale) }
	var dts int64
	for i, s := range tr.Samples {
		payload, err := s.GetPayload()
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		var au h264.AVCC
		if err := au.Unmarshal(payload); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		c.Frames = append(c.Frames, Frame{
			DTS: scale(dts), PTS: scale(dts + int64(s.PTSOffset)),
			Key: h264.IsRandomAccess(au), NALUs: au,
		})
		dts += int64(s.Duration)
	}
	c.Duration = scale(dts)
	return c, c.finish()
}

// ParseAnnexB reads an Annex-B H.264 stream without B-frames, one access
// unit per picture, played at fps.
func ParseAnnexB(b []byte, fps float64) (*Clip, error) {
	if fps <= 0 || fps > 1000 {
		return nil, fmt.Errorf("invalid fps %v", fps)
	}
	nalus := splitAnnexB(b)
	if len(nalus) == 0 {
		return nil, fmt.Errorf("parse annex-b: %w", ErrNoVideo)
	}
	c := &Clip{}
	var cur [][]byte
	flush := func() {
		if hasSlice(cur) {
			ts := int64(float64(len(c.Frames)) * ClockRate / fps)
			c.Frames = append(c.Frames, Frame{PTS: ts, DTS: ts, Key: h264.IsRandomAccess(cur), NALUs: cur})
			cur = nil
		}
	}
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		c.takeParams(n)
		if startsPicture(n) && hasSlice(cur) {
			flush()
		}
		cur = append(cur, n)
	}
	flush()
	c.Duration = int64(float64(len(c.Frames)) * ClockRate / fps)
	return c, c.finish()
}

// splitAnnexB returns the NAL units between start codes (00 00 01 or
// 00 00 00 01), trailing zero bytes removed. Bytes before the first start
// code are ignored.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			i++
			continue
		}
		if start >= 0 {
			out = appendNALU(out, b[start:i])
		}
		i += 3
		start = i
	}
	if start >= 0 {
		out = appendNALU(out, b[start:])
	}
	return out
}

func appendNALU(out [][]byte, n []byte) [][]byte {
	n = bytes.TrimRight(n, "\x00")
	if len(n) == 0 {
		return out
	}
	return append(out, n)
}

func (c *Clip) takeParams(n []byte) {
	switch h264.NALUType(n[0] & 0x1f) {
	case h264.NALUTypeSPS:
		if c.SPS == nil {
			c.SPS = n
		}
	case h264.NALUTypePPS:
		if c.PPS == nil {
			c.PPS = n
		}
	}
}

// startsPicture reports a NAL unit that begins a new access unit: an AUD,
// parameter sets, SEI, or a slice whose first_mb_in_slice is 0 (its first
// bit after the header, ue(v) = 0, is a 1).
func startsPicture(n []byte) bool {
	switch h264.NALUType(n[0] & 0x1f) {
	case h264.NALUTypeAccessUnitDelimiter, h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeSEI:
		return true
	case h264.NALUTypeIDR, h264.NALUTypeNonIDR:
		return len(n) > 1 && n[1]&0x80 != 0
	}
	return false
}

func hasSlice(au [][]byte) bool {
	for _, n := range au {
		t := h264.NALUType(n[0] & 0x1f)
		if t == h264.NALUTypeIDR || t == h264.NALUTypeNonIDR {
			return true
		}
	}
	return false
}

// finish validates the clip, drops frames before the first keyframe, and
// fills the picture size and frame rate.
func (c *Clip) finish() error {
	for len(c.Frames) > 0 && !c.Frames[0].Key {
		c.Frames = c.Frames[1:]
	}
	if len(c.Frames) == 0 || c.SPS == nil || c.PPS == nil {
		return ErrNoVideo
	}
	var sps h264.SPS
	if err := sps.Unmarshal(c.SPS); err != nil {
		return fmt.Errorf("sps: %w", err)
	}
	c.Width, c.Height = sps.Width(), sps.Height()
	base := c.Frames[0].DTS
	for i := range c.Frames {
		c.Frames[i].DTS -= base
		c.Frames[i].PTS -= base
	}
	c.Duration -= base
	if c.Duration <= 0 {
		return fmt.Errorf("clip has no duration")
	}
	c.FPS = float64(len(c.Frames)) * ClockRate / float64(c.Duration)
	return nil
}
