// Package media is Vigil's domain vocabulary for audio/video: tracks, codecs
// and access units. It is the one place that knows per-codec facts (the codec
// table in codec.go); muxers and sources ask it instead of switching on codecs.
package media

import (
	"sync"
	"time"
)

// Track describes one elementary stream of a camera.
type Track struct {
	// ID is the track's position in the stream's track list (0-based).
	ID int
	// Codec is the codec of the track.
	Codec Codec
	// ClockRate is the RTP clock rate; PTS and DTS are in these units.
	ClockRate int

	// Video parameter sets (H.264: SPS, PPS; H.265: VPS, SPS, PPS), raw NAL
	// units without start codes or length prefixes.
	VPS, SPS, PPS []byte
	// Width and Height of the picture, when known from the SPS.
	Width, Height int

	// Audio: AAC AudioSpecificConfig bytes (AAC only), sample rate and
	// channel count.
	AACConfig    []byte
	SampleRate   int
	ChannelCount int
}

// IsVideo reports whether the track carries video.
func (t Track) IsVideo() bool { return t.Codec.Info().Video }

// AccessUnit is one frame (video) or one audio frame/packet.
//
// Video units (H.264, H.265) carry their NAL units in NALUs, without start
// codes or length prefixes; Payload is nil. The unit's fMP4 sample is AVCC:
// each NAL unit prefixed by its 4-byte big-endian length (see AppendAVCC
// and Size), and muxers write the prefixes and the NAL units side by side
// without joining them. Keyframes start with the track's current parameter
// sets. Audio units carry their frame in Payload: a raw AAC access unit (no
// ADTS header), one Opus packet, or G.711 samples.
//
// A video unit whose NAL units came fragmented over RTP (H.264 FU-A) may
// instead hold them in Pieces, as the packets' payloads, so that the bytes
// are never joined on the way to the disk; NALUs is then nil. Code that
// needs whole NAL units calls VideoNALUs (it joins them once per unit);
// Size, AppendAVCC and AppendSample handle both forms.
//
// An AccessUnit is immutable once written to a stream: readers share it and
// must not modify NALUs, Pieces, their bytes or Payload.
type AccessUnit struct {
	// Track is the Track.ID this unit belongs to.
	Track int
	// PTS and DTS in the track's clock rate, monotonic within one publish
	// session (RTP wrap-around already unrolled).
	PTS, DTS int64
	// Wall is the wall-clock time of the unit's PTS, taken from the
	// session's anchor (RTCP sender reports or arrival time of the first
	// packet) plus the PTS elapsed since.
	Wall time.Time
	// Key is true for a random-access unit (IDR / IRAP) of a video track.
	// Audio units are always Key.
	Key bool
	// NALUs are a video unit's NAL units (nil when Pieces holds them).
	NALUs [][]byte
	// Pieces, when not nil, holds a video unit's NAL units in pieces.
	Pieces *NALPieces
	// Payload is an audio unit's encoded frame.
	Payload []byte
}

// Size is the number of bytes of the unit's sample: the AVCC size of a
// video unit, the payload size of an audio unit.
func (au *AccessUnit) Size() int {
	n := len(au.Payload)
	if p := au.Pieces; p != nil {
		return n + 4*len(p.Ends) + p.bytes()
	}
	for _, nalu := range au.NALUs {
		n += 4 + len(nalu)
	}
	return n
}

// AppendAVCC appends the unit's sample bytes to dst: the NAL units of a
// video unit with 4-byte length prefixes, or the payload of an audio unit.
func (au *AccessUnit) AppendAVCC(dst []byte) []byte {
	if p := au.Pieces; p != nil {
		for i := range p.Ends {
			dst = appendLen(dst, p.Len(i))
			for _, b := range p.NALU(i) {
				dst = append(dst, b...)
			}
		}
		return append(dst, au.Payload...)
	}
	for _, nalu := range au.NALUs {
		dst = appendLen(dst, len(nalu))
		dst = append(dst, nalu...)
	}
	return append(dst, au.Payload...)
}

// AppendSample appends the unit's sample to bufs without copying its
// bytes: each NAL unit behind its 4-byte length prefix, which is appended
// to prefix (whose backing array bufs then refers to; prefix grows into a
// new array when full, so earlier prefixes stay valid), or the audio
// payload. It returns both slices.
func (au *AccessUnit) AppendSample(bufs [][]byte, prefix []byte) ([][]byte, []byte) {
	add := func(n int) {
		if len(prefix)+4 > cap(prefix) {
			prefix = make([]byte, 0, max(256, 2*cap(prefix)))
		}
		at := len(prefix)
		prefix = appendLen(prefix, n)
		bufs = append(bufs, prefix[at:at+4:at+4])
	}
	if p := au.Pieces; p != nil {
		for i := range p.Ends {
			add(p.Len(i))
			bufs = append(bufs, p.NALU(i)...)
		}
	} else {
		for _, n := range au.NALUs {
			add(len(n))
			bufs = append(bufs, n)
		}
	}
	if len(au.Payload) > 0 {
		bufs = append(bufs, au.Payload)
	}
	return bufs, prefix
}

// VideoNALUs returns a video unit's NAL units, each whole: NALUs, or the
// pieces joined (once per unit; safe for concurrent readers).
func (au *AccessUnit) VideoNALUs() [][]byte {
	if au.Pieces == nil {
		return au.NALUs
	}
	return au.Pieces.Whole()
}

func appendLen(dst []byte, n int) []byte {
	return append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// NALPieces holds NAL units in pieces: NAL unit i is the concatenation of
// Bufs[Ends[i-1]:Ends[i]] (Ends[-1] being 0), and Lens[i] is its length.
// Build one with AddWhole and AddNAL.
type NALPieces struct {
	Bufs [][]byte
	Ends []int
	Lens []int

	once  sync.Once
	whole [][]byte
}

// AddWhole appends a NAL unit held in one slice.
func (p *NALPieces) AddWhole(nalu []byte) {
	p.Bufs = append(p.Bufs, nalu)
	p.Ends = append(p.Ends, len(p.Bufs))
	p.Lens = append(p.Lens, len(nalu))
}

// AddNAL appends a NAL unit of size bytes held in pieces: head, then the
// pieces of rest.
func (p *NALPieces) AddNAL(head []byte, rest [][]byte, size int) {
	p.Bufs = append(p.Bufs, head)
	p.Bufs = append(p.Bufs, rest...)
	p.Ends = append(p.Ends, len(p.Bufs))
	p.Lens = append(p.Lens, size)
}

// Count returns the number of NAL units.
func (p *NALPieces) Count() int { return len(p.Ends) }

// Len returns the length of NAL unit i.
func (p *NALPieces) Len(i int) int { return p.Lens[i] }

// NALU returns the pieces of NAL unit i.
func (p *NALPieces) NALU(i int) [][]byte {
	from := 0
	if i > 0 {
		from = p.Ends[i-1]
	}
	return p.Bufs[from:p.Ends[i]]
}

func (p *NALPieces) bytes() int {
	n := 0
	for _, l := range p.Lens {
		n += l
	}
	return n
}

// Whole returns the NAL units joined, each in one slice (a NAL unit
// already in one piece is not copied). The result is computed once and
// shared: callers must not modify it.
func (p *NALPieces) Whole() [][]byte {
	p.once.Do(func() {
		out := make([][]byte, len(p.Ends))
		for i := range p.Ends {
			pieces := p.NALU(i)
			if len(pieces) == 1 {
				out[i] = pieces[0]
				continue
			}
			b := make([]byte, 0, p.Lens[i])
			for _, pc := range pieces {
				b = append(b, pc...)
			}
			out[i] = b
		}
		p.whole = out
	})
	return p.whole
}
