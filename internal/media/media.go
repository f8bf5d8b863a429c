// Package media is Vigil's domain vocabulary for audio/video: tracks, codecs
// and access units. It is the one place that knows per-codec facts (the codec
// table in codec.go); muxers and sources ask it instead of switching on codecs.
package media

import "time"

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
// An AccessUnit is immutable once written to a stream: readers share it and
// must not modify NALUs, their bytes or Payload.
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
	// NALUs are a video unit's NAL units.
	NALUs [][]byte
	// Payload is an audio unit's encoded frame.
	Payload []byte
}

// Size is the number of bytes of the unit's sample: the AVCC size of a
// video unit, the payload size of an audio unit.
func (au *AccessUnit) Size() int {
	n := len(au.Payload)
	for _, nalu := range au.NALUs {
		n += 4 + len(nalu)
	}
	return n
}

// AppendAVCC appends the unit's sample bytes to dst: the NAL units of a
// video unit with 4-byte length prefixes, or the payload of an audio unit.
func (au *AccessUnit) AppendAVCC(dst []byte) []byte {
	for _, nalu := range au.NALUs {
		dst = append(dst, byte(len(nalu)>>24), byte(len(nalu)>>16), byte(len(nalu)>>8), byte(len(nalu)))
		dst = append(dst, nalu...)
	}
	return append(dst, au.Payload...)
}
