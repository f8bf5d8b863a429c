package depacket

import (
	"bytes"
	"fmt"

	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// renewAfter is the number of packets of one access unit after which the
// RTP decoder is replaced once the unit is complete. gortsplib's decoders
// keep their fragment list's backing array, which keeps the packets of the
// largest frame so far (a keyframe: a few hundred KiB) reachable until
// another frame as large overwrites them; a fresh decoder lets them go.
const renewAfter = 32

// maxBadSPS is how many unusable in-band SPSs in a row are dropped, while
// a good one is known, before the session fails.
const maxBadSPS = 3

// Parameter-set slots of videoCodec.params.
const (
	paramVPS = iota
	paramSPS
	paramPPS
	paramCount
	paramNone = -1
)

// videoSpec is what differs between H.264 and H.265.
type videoSpec struct {
	codec media.Codec
	// paramKind returns the parameter-set slot of a NAL unit, or paramNone.
	paramKind func(nalu []byte) int
	// discard reports NAL units that are not stored (AUD, filler data).
	discard func(nalu []byte) bool
	// isKey reports a random-access unit.
	isKey func(au [][]byte) bool
	// parseSPS returns the picture size an SPS declares.
	parseSPS func(sps []byte) (width, height int, err error)
	// newExtractor returns a fresh DTS extractor.
	newExtractor func() dtsExtractor
	// needVPS is true when the codec has a VPS.
	needVPS bool
	// flushOnTimestamp is true when the RTP decoder completes an access
	// unit on a timestamp change (returning the previous one).
	flushOnTimestamp bool
}

type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// rtpVideoDecoder is gortsplib's rtph264/rtph265 decoder.
type rtpVideoDecoder interface {
	Decode(pkt *rtp.Packet) ([][]byte, error)
}

// videoCodec turns RTP packets into AVCC access units.
type videoCodec struct {
	spec       *videoSpec
	dec        rtpVideoDecoder
	renew      func() (rtpVideoDecoder, error) // a fresh decoder, see renewAfter
	unitPkts   int                             // packets since the last complete unit
	renewals   int
	benign     func(error) bool
	ext        dtsExtractor
	maxW, maxH int

	params [paramCount][]byte

	// the decoder's unfinished unit (H.264 only), see unitPTS
	hasBuf bool
	bufTS  uint32
	bufPTS int64

	waitKey  bool
	badSPS   int  // unusable SPSs in a row, see setParams
	fallback bool // the DTS extractor cannot handle this stream: DTS = PTS
	lastDTS  int64
	hasDTS   bool
	frame    [][]byte // scratch: the unit's NAL units
	fresh    [paramCount][]byte
}

func (c *videoCodec) decode(st *trackState, pkt *rtp.Packet, pts int64) {
	auPTS, flushes := c.unitPTS(pkt, pts)
	nalus, err := c.dec.Decode(pkt)
	c.trackBuffer(pkt, pts, flushes, err)
	c.unitPkts++
	if err == nil && !c.hasBuf {
		c.renewIfLarge()
	}
	if err != nil {
		if !c.benign(err) {
			st.warn("decode", "dropping undecodable video packets", err)
			st.drop()
		}
		return
	}
	c.handleAU(st, nalus, auPTS, pkt, pts)
}

// renewIfLarge replaces the decoder, which holds no unfinished unit, when
// the unit it just completed took many packets.
func (c *videoCodec) renewIfLarge() {
	n := c.unitPkts
	c.unitPkts = 0
	if n < renewAfter || c.renew == nil {
		return
	}
	if dec, err := c.renew(); err == nil {
		c.dec, c.renewals = dec, c.renewals+1
	}
}

// unitPTS returns the PTS of the unit the decoder may complete with pkt.
// The H.264 decoder also completes a unit when a packet with a new
// timestamp brings NAL units: it then returns the buffered unit, whose PTS
// is that of the packets before.
func (c *videoCodec) unitPTS(pkt *rtp.Packet, pts int64) (int64, bool) {
	if c.spec.flushOnTimestamp && c.hasBuf && pkt.Timestamp != c.bufTS && h264AddsNALUs(pkt.Payload) {
		return c.bufPTS, true
	}
	return pts, false
}

// trackBuffer mirrors whether the decoder holds NAL units of an unfinished
// unit, and their timestamp.
func (c *videoCodec) trackBuffer(pkt *rtp.Packet, pts int64, flushed bool, err error) {
	if !c.spec.flushOnTimestamp {
		return
	}
	switch {
	case err == nil && !flushed:
		c.hasBuf = false
	case err == nil || (c.benign(err) && !isNonStarting(err) && h264AddsNALUs(pkt.Payload)):
		c.hasBuf, c.bufTS, c.bufPTS = true, pkt.Timestamp, pts
	}
}

// h264AddsNALUs reports whether an H.264 RTP payload completes NAL units
// (anything but a non-final FU-A fragment).
func h264AddsNALUs(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	if p[0]&0x1f == 28 { // FU-A
		return len(p) >= 2 && p[1]&0x40 != 0
	}
	return true
}

// handleAU processes one access unit of NAL units.
func (c *videoCodec) handleAU(st *trackState, nalus [][]byte, pts int64, pkt *rtp.Packet, pktPTS int64) {
	if !c.collect(st, nalus) {
		return
	}
	if len(c.frame) == 0 {
		return // parameter sets only
	}
	if c.params[paramSPS] == nil || c.params[paramPPS] == nil || (c.spec.needVPS && c.params[paramVPS] == nil) {
		st.drop()
		return
	}
	key := c.spec.isKey(c.frame)
	if c.waitKey && !key {
		st.drop()
		return
	}
	out := c.unitNALUs(key)
	dts, ok := c.extractDTS(st, key, pts, out)
	if !ok {
		st.drop()
		return
	}
	st.emit(unit{pts: pts, dts: dts, key: key, nalus: out}, pkt, pktPTS)
}

// collect splits nalus into parameter sets (applied to the track) and the
// frame's other NAL units (c.frame). It returns false when the unit must
// be dropped (bad parameter sets).
func (c *videoCodec) collect(st *trackState, nalus [][]byte) bool {
	c.frame = c.frame[:0]
	c.fresh = [paramCount][]byte{}
	changed := false
	for _, n := range nalus {
		if len(n) == 0 || c.spec.discard(n) {
			continue
		}
		k := c.spec.paramKind(n)
		if k == paramNone || c.fresh[k] != nil {
			// a second parameter set of one kind (another id) stays in band
			c.frame = append(c.frame, n)
			continue
		}
		c.fresh[k] = n
		changed = changed || !bytes.Equal(c.params[k], n)
	}
	if !changed {
		return true
	}
	return c.setParams(st, c.fresh)
}

// setParams validates and adopts changed parameter sets.
func (c *videoCodec) setParams(st *trackState, fresh [paramCount][]byte) bool {
	next := c.params
	for k, p := range fresh {
		if p != nil {
			next[k] = bytes.Clone(p)
		}
	}
	w, h, err := c.checkSPS(next[paramSPS])
	if err != nil && c.params[paramSPS] != nil && c.badSPS < maxBadSPS {
		// a corrupt SPS while a good one is known: drop units until a
		// keyframe brings usable parameter sets again
		c.badSPS++
		c.waitKey = true
		st.warn("sps", "dropping a unit with an unusable SPS", err)
		st.drop()
		return false
	}
	if err != nil {
		st.fail(&ParamsError{Track: st.id, Codec: c.spec.codec, Err: err})
		return false
	}
	c.badSPS = 0
	c.params = next
	st.updateTrack(func(t *media.Track) bool {
		t.VPS, t.SPS, t.PPS = next[paramVPS], next[paramSPS], next[paramPPS]
		if !c.spec.needVPS {
			t.VPS = nil
		}
		t.Width, t.Height = w, h
		return true
	})
	return true
}

// checkSPS parses sps (if any) and bounds its picture size.
func (c *videoCodec) checkSPS(sps []byte) (int, int, error) {
	if sps == nil {
		return 0, 0, nil
	}
	w, h, err := c.spec.parseSPS(sps)
	if err != nil {
		return 0, 0, fmt.Errorf("sps: %w", err)
	}
	if w <= 0 || h <= 0 || w > c.maxW || h > c.maxH {
		return 0, 0, fmt.Errorf("sps: %dx%d not within 1x1..%dx%d: %w", w, h, c.maxW, c.maxH, ErrResolution)
	}
	return w, h, nil
}

// unitNALUs returns the unit's NAL units in a new slice: the parameter
// sets first on keyframes, then the frame's NAL units. The NAL units
// themselves are not copied: the RTP decoder hands out fresh buffers (or
// slices of packets gortsplib never reuses), and parameter sets are cloned
// when adopted and never modified.
func (c *videoCodec) unitNALUs(key bool) [][]byte {
	n := len(c.frame)
	if key {
		for _, p := range c.params {
			if len(p) > 0 {
				n++
			}
		}
	}
	out := make([][]byte, 0, n)
	if key {
		for _, p := range c.params {
			if len(p) > 0 {
				out = append(out, p)
			}
		}
	}
	return append(out, c.frame...)
}

// extractDTS derives the unit's DTS. When the extractor fails it is reset
// and units are dropped until the next keyframe; when a fresh extractor
// fails on a keyframe (a stream it cannot handle) DTS falls back to PTS.
func (c *videoCodec) extractDTS(st *trackState, key bool, pts int64, nalus [][]byte) (int64, bool) {
	if c.fallback {
		return c.fallbackDTS(pts, key)
	}
	dts, err := c.ext.Extract(nalus, pts)
	if err != nil && key {
		c.ext = c.spec.newExtractor()
		dts, err = c.ext.Extract(nalus, pts)
		if err != nil {
			st.warn("dts-fallback", "cannot derive DTS, using PTS (B-frames dropped)", err)
			c.fallback = true
			return c.fallbackDTS(pts, key)
		}
	}
	if err != nil {
		st.warn("dts", "cannot derive DTS, waiting for a keyframe", err)
		c.ext = c.spec.newExtractor()
		c.waitKey = true
		return 0, false
	}
	c.waitKey = false
	c.lastDTS, c.hasDTS = dts, true
	return dts, true
}

func (c *videoCodec) fallbackDTS(pts int64, key bool) (int64, bool) {
	if c.hasDTS && pts <= c.lastDTS && !key {
		return 0, false
	}
	c.lastDTS, c.hasDTS = pts, true
	return pts, true
}
