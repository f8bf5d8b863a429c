package depacket

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// headBytes is how many leading bytes of a fragmented NAL unit are copied
// into its head piece: enough for every parser that looks at a NAL unit of
// a frame (its type, and the slice header fields the DTS extractor reads),
// so that only parameter sets ever need a NAL unit whole.
const headBytes = 64

// nalUnit is one NAL unit of an access unit being decoded. A NAL unit
// that came in one piece has head = the NAL unit and rest = nil; one
// reassembled from fragmentation units has head = its first bytes (at
// least headBytes, or all of it) and rest = the pieces that follow.
type nalUnit struct {
	head []byte
	rest [][]byte
	size int
}

func wholeNAL(b []byte) nalUnit { return nalUnit{head: b, size: len(b)} }

// whole returns the NAL unit in one slice (copying only when it is in
// pieces).
func (n nalUnit) whole() []byte {
	if n.rest == nil {
		return n.head
	}
	b := make([]byte, 0, n.size)
	b = append(b, n.head...)
	for _, p := range n.rest {
		b = append(b, p...)
	}
	return b
}

// h264Decoder reassembles H.264 access units from RTP packets (RFC 6184,
// single NAL unit packets, STAP-A and FU-A) with the behaviour of
// gortsplib's rtph264.Decoder (same errors, same access unit boundaries:
// the RTP marker or a timestamp change, same limits, the same handling of
// senders that wrap NAL units in Annex-B), which the differential fuzz test
// checks, with one difference: a NAL unit that came in FU-A fragments is
// not joined into a new buffer. Its bytes stay in the packets' payloads
// (gortsplib allocates each packet's payload and never reuses it) and the
// unit hands them on as pieces, so the recorder writes them as they came.
//
// The NAL units Decode returns are valid until the next call.
type h264Decoder struct {
	started bool // a packet that can start a NAL unit was seen
	// the FU-A NAL unit in progress: its header byte and fragments
	fuHeader byte
	fu       [][]byte
	fuSize   int // bytes so far, header included (0: none in progress)
	fuNext   uint16
	annexB   bool // the sender wraps NAL units in Annex-B

	cur, out h264AU
	pktNALs  []nalUnit // scratch: the NAL units of one packet
}

// h264AU is an access unit being collected.
type h264AU struct {
	nals []nalUnit
	bufs [][]byte // the pieces of the fragmented NAL units in nals
	size int
	ts   uint32
	open bool // it holds NAL units (gortsplib: frameBuffer != nil)
}

func (a *h264AU) reset() {
	clear(a.nals) // let the packets go
	clear(a.bufs)
	a.nals, a.bufs, a.size, a.open = a.nals[:0], a.bufs[:0], 0, false
}

// add appends one packet's NAL units, with gortsplib's limits.
func (a *h264AU) add(nals []nalUnit, ts uint32) error {
	if len(a.nals)+len(nals) > h264.MaxNALUsPerAccessUnit {
		n := len(a.nals) + len(nals)
		a.reset()
		return fmt.Errorf("NALU count (%d) exceeds maximum allowed (%d)", n, h264.MaxNALUsPerAccessUnit)
	}
	size := 0
	for _, n := range nals {
		size += n.size
	}
	if a.size+size > h264.MaxAccessUnitSize {
		n := a.size + size
		a.reset()
		return fmt.Errorf("access unit size (%d) is too big, maximum is %d", n, h264.MaxAccessUnitSize)
	}
	for _, n := range nals {
		if n.rest != nil {
			// the pieces move into the unit's own list: the packet's
			// scratch is reused for the next packet
			from := len(a.bufs)
			a.bufs = append(a.bufs, n.rest...)
			n.rest = a.bufs[from:len(a.bufs):len(a.bufs)]
		}
		a.nals = append(a.nals, n)
	}
	a.size += size
	a.ts = ts
	a.open = a.open || len(nals) > 0
	return nil
}

// Decode consumes one packet and returns a completed access unit's NAL
// units, or an error: rtph264.ErrMorePacketsNeeded while a unit is
// incomplete, rtph264.ErrNonStartingPacketAndNoPrevious for a fragment
// seen before any start, others for broken packets.
func (d *h264Decoder) Decode(pkt *rtp.Packet) ([]nalUnit, error) {
	d.out.reset() // what the last call returned
	nals, err := d.decodeNALUs(pkt)
	if err != nil {
		return nil, err
	}
	if d.cur.open && pkt.Timestamp != d.cur.ts {
		// a unit without marker ends where the timestamp changes
		d.cur, d.out = d.out, d.cur
		if err := d.cur.add(nals, pkt.Timestamp); err != nil {
			return nil, err
		}
		return d.out.nals, nil
	}
	if err := d.cur.add(nals, pkt.Timestamp); err != nil {
		return nil, err
	}
	if !pkt.Marker {
		return nil, rtph264.ErrMorePacketsNeeded
	}
	d.cur, d.out = d.out, d.cur
	return d.out.nals, nil
}

func (d *h264Decoder) resetFU() {
	clear(d.fu)
	d.fu, d.fuSize = d.fu[:0], 0
}

// decodeNALUs returns the NAL units one packet completes.
func (d *h264Decoder) decodeNALUs(pkt *rtp.Packet) ([]nalUnit, error) {
	p := pkt.Payload
	if len(p) < 1 {
		d.resetFU()
		return nil, errors.New("payload is too short")
	}
	clear(d.pktNALs)
	d.pktNALs = d.pktNALs[:0]
	switch typ := h264.NALUType(p[0] & 0x1f); typ {
	case h264.NALUTypeFUA:
		return d.fuA(pkt)
	case h264.NALUTypeSTAPA:
		d.resetFU()
		return d.stapA(p[1:])
	case h264.NALUTypeSTAPB, h264.NALUTypeMTAP16, h264.NALUTypeMTAP24, h264.NALUTypeFUB:
		d.resetFU()
		d.started = true
		return nil, fmt.Errorf("packet type not supported (%v)", typ)
	default:
		d.resetFU()
		d.started = true
		return d.unwrapAnnexB(append(d.pktNALs, wholeNAL(p)))
	}
}

func (d *h264Decoder) fuA(pkt *rtp.Packet) ([]nalUnit, error) {
	p := pkt.Payload
	if len(p) < 2 {
		return nil, errors.New("invalid FU-A packet (invalid size)")
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	if start {
		d.resetFU()
		d.fuHeader = p[0]&0x60 | p[1]&0x1f
		d.fuSize = len(p) - 1
		d.fu = append(d.fu, p[2:])
		d.fuNext = pkt.SequenceNumber + 1
		d.started = true
		if end {
			// RFC 6184 forbids a NAL unit in one FU; some cameras do it
			return d.fuDone()
		}
		return nil, rtph264.ErrMorePacketsNeeded
	}
	if d.fuSize == 0 {
		if !d.started {
			return nil, rtph264.ErrNonStartingPacketAndNoPrevious
		}
		return nil, errors.New("invalid FU-A packet (non-starting)")
	}
	if pkt.SequenceNumber != d.fuNext {
		d.resetFU()
		return nil, errors.New("discarding frame since a RTP packet is missing")
	}
	d.fuSize += len(p) - 2
	if d.fuSize > h264.MaxAccessUnitSize {
		size := d.fuSize
		d.resetFU()
		return nil, fmt.Errorf("NALU size (%d) is too big, maximum is %d", size, h264.MaxAccessUnitSize)
	}
	d.fu = append(d.fu, p[2:])
	d.fuNext++
	if !end {
		return nil, rtph264.ErrMorePacketsNeeded
	}
	return d.fuDone()
}

// fuDone turns the completed FU-A NAL unit into a head piece and the
// fragments that follow it.
func (d *h264Decoder) fuDone() ([]nalUnit, error) {
	size := d.fuSize
	d.fuSize = 0 // d.fu keeps the pieces until add took them; resetFU clears it
	if d.annexB || fuHasStartCode(d.fuHeader, d.fu) {
		// a sender that puts start codes inside NAL units: join and
		// split like gortsplib (rare; not worth keeping in pieces)
		b := make([]byte, 0, size)
		b = append(b, d.fuHeader)
		for _, f := range d.fu {
			b = append(b, f...)
		}
		d.resetFU()
		for _, n := range splitAnnexB(b) {
			d.pktNALs = append(d.pktNALs, wholeNAL(n))
		}
		return d.unwrapAnnexB(d.pktNALs)
	}
	head := make([]byte, 1, min(headBytes, size))
	head[0] = d.fuHeader
	frags := d.fu
	for len(frags) > 0 && len(head) < cap(head) {
		n := min(cap(head)-len(head), len(frags[0]))
		head = append(head, frags[0][:n]...)
		if n < len(frags[0]) {
			frags[0] = frags[0][n:]
			break
		}
		frags = frags[1:]
	}
	n := nalUnit{head: head, size: size}
	if len(frags) > 0 {
		n.rest = frags // copied into the access unit by add
	}
	return append(d.pktNALs, n), nil
}

// fuHasStartCode reports whether the NAL unit made of header and frags
// holds 00 00 01 anywhere, also across the fragments' boundaries.
func fuHasStartCode(header byte, frags [][]byte) bool {
	var tail [2]byte // the last two bytes before the current fragment
	tail[1] = header
	have := 1
	for _, f := range frags {
		if bytes.Contains(f, startCode3) {
			return true
		}
		// a start code across the boundary: the tail's bytes then the
		// fragment's first ones
		var w [4]byte
		k := copy(w[:], tail[2-have:])
		k += copy(w[k:], f[:min(len(f), 2)])
		if bytes.Contains(w[:k], startCode3) {
			return true
		}
		switch {
		case len(f) >= 2:
			tail, have = [2]byte{f[len(f)-2], f[len(f)-1]}, 2
		case len(f) == 1:
			tail, have = [2]byte{tail[1], f[0]}, min(have+1, 2)
		}
	}
	return false
}

var (
	startCode3 = []byte{0, 0, 1}
	startCode4 = []byte{0, 0, 0, 1}
)

// splitAnnexB splits b at 3- and 4-byte start codes, dropping them (as
// gortsplib does for FU-A NAL units that hold several).
func splitAnnexB(b []byte) [][]byte {
	out := make([][]byte, 0, 1)
	for len(b) > 0 {
		i := bytes.Index(b, startCode3)
		if i < 0 {
			return append(out, b)
		}
		size := 3
		if i > 0 && b[i-1] == 0 {
			i--
			size++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		b = b[i+size:]
	}
	return out
}

func (d *h264Decoder) stapA(p []byte) ([]nalUnit, error) {
	nals := d.pktNALs
	for {
		if len(p) < 2 {
			return nil, errors.New("invalid STAP-A packet (invalid size)")
		}
		size := int(p[0])<<8 | int(p[1])
		p = p[2:]
		if size == 0 {
			if isAllZero(p) {
				break // padding
			}
			return nil, errors.New("invalid STAP-A packet (invalid size)")
		}
		if size > len(p) {
			return nil, errors.New("invalid STAP-A packet (invalid size)")
		}
		nals = append(nals, wholeNAL(p[:size]))
		p = p[size:]
		if len(p) == 0 {
			break
		}
	}
	d.pktNALs = nals
	if len(nals) == 0 {
		return nil, errors.New("STAP-A packet doesn't contain any NALU")
	}
	d.started = true
	return d.unwrapAnnexB(nals)
}

func isAllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unwrapAnnexB handles senders that wrap a packet's NAL unit in Annex-B
// (gortsplib switches to that mode for good once a lone NAL unit holds a
// 4-byte start code).
func (d *h264Decoder) unwrapAnnexB(nals []nalUnit) ([]nalUnit, error) {
	if len(nals) != 1 {
		return nals, nil
	}
	n := nals[0]
	if !d.annexB && n.rest == nil && bytes.Contains(n.head, startCode4) {
		d.annexB = true
	}
	if !d.annexB {
		return nals, nil
	}
	b := n.whole()
	if !bytes.HasPrefix(b, startCode4) {
		b = append(append([]byte(nil), startCode4...), b...)
	}
	var au h264.AnnexB
	if err := au.Unmarshal(b); err != nil {
		return nil, err
	}
	nals = nals[:0]
	for _, x := range au {
		nals = append(nals, wholeNAL(x))
	}
	d.pktNALs = nals
	return nals, nil
}
