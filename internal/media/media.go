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
// Payload format depends on the codec (see CodecInfo.Payload): for H.264 and
// H.265 it is AVCC (each NAL unit prefixed by a 4-byte big-endian length),
// which is what fMP4 stores, so muxers copy it as is. Parameter sets that
// arrive in band are kept in the payload of keyframes.
//
// An AccessUnit is immutable once written to a stream: readers share it and
// must not modify Payload.
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
	// Payload is the encoded data (see above).
	Payload []byte
}

// Size is the number of payload bytes.
func (au *AccessUnit) Size() int { return len(au.Payload) }
