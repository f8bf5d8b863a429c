// Package repacket turns a stream's access units back into RTP: one
// packetiser per media.Track (H.264, H.265, AAC, Opus, G.711) with its
// session-description media. The hub's re-stream (package ingest) and the
// gateway's push to the hub (package push) share it.
package repacket

import (
	"errors"
	"fmt"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// ErrEmptyUnit is returned by Encode for a unit without NAL units (video)
// or payload (G.711).
var ErrEmptyUnit = errors.New("repacket: empty access unit")

// Track packetises one track. It is not safe for concurrent use.
type Track struct {
	// Media is the track's RTP media, for the session description. Write
	// the packets of Encode with it.
	Media  *description.Media
	encode func(au *media.AccessUnit) ([]*rtp.Packet, error)
}

// Encode returns the RTP packets of au, timestamped with its PTS (in the
// track's clock rate, truncated to 32 bits).
func (t *Track) Encode(au *media.AccessUnit) ([]*rtp.Packet, error) {
	pkts, err := t.encode(au)
	if err != nil {
		return nil, err
	}
	for _, p := range pkts {
		p.Timestamp += uint32(au.PTS) //nolint:gosec // RTP timestamps wrap by design
	}
	return pkts, nil
}

// Describe builds the session description of tracks and their packetisers:
// outs[i] packetises tracks[i], nil for a track that is not sent. skipped,
// if not nil, hears about each track whose packetiser failed to build. desc
// is nil when no track can be sent.
func Describe(tracks []media.Track, skipped func(i int, err error)) (desc *description.Session, outs []*Track) {
	desc = &description.Session{}
	outs = make([]*Track, len(tracks))
	for i, t := range tracks {
		out, err := New(t, len(desc.Medias))
		if err != nil {
			if skipped != nil {
				skipped(i, err)
			}
			continue
		}
		if out != nil {
			outs[i] = out
			desc.Medias = append(desc.Medias, out.Media)
		}
	}
	if len(desc.Medias) == 0 {
		return nil, nil
	}
	return desc, outs
}

// New returns the packetiser of t, or nil and no error for codecs that
// are not sent. n is the media's index in the description (dynamic
// payload type 96+n).
func New(t media.Track, n int) (*Track, error) {
	pt := uint8(96 + n) //nolint:gosec // a handful of tracks
	switch t.Codec {
	case media.CodecH264:
		return h264Out(t, pt)
	case media.CodecH265:
		return h265Out(t, pt)
	case media.CodecAAC:
		return aacOut(t, pt)
	case media.CodecOpus:
		f := &format.Opus{PayloadTyp: pt, ChannelCount: max(t.ChannelCount, 1)}
		enc, err := f.CreateEncoder()
		if err != nil {
			return nil, fmt.Errorf("opus encoder: %w", err)
		}
		return audioOut(f, func(au *media.AccessUnit) ([]*rtp.Packet, error) {
			p, err := enc.Encode(au.Payload)
			return []*rtp.Packet{p}, err
		}), nil
	case media.CodecG711A, media.CodecG711U:
		return g711Out(t, pt)
	}
	return nil, nil
}

func videoMedia(f format.Format) *description.Media {
	return &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}
}

func audioOut(f format.Format, enc func(*media.AccessUnit) ([]*rtp.Packet, error)) *Track {
	return &Track{Media: &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}, encode: enc}
}

// nalEncoder is an RTP encoder of NAL units (rtph264, rtph265).
type nalEncoder interface {
	Encode(nalus [][]byte) ([]*rtp.Packet, error)
}

// avccEncoder encodes video access units with enc.
func avccEncoder(enc nalEncoder) func(*media.AccessUnit) ([]*rtp.Packet, error) {
	return func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		if len(au.NALUs) == 0 {
			return nil, ErrEmptyUnit
		}
		return enc.Encode(au.NALUs)
	}
}

func h264Out(t media.Track, pt uint8) (*Track, error) {
	f := &format.H264{PayloadTyp: pt, SPS: t.SPS, PPS: t.PPS, PacketizationMode: 1}
	enc := &rtph264.Encoder{PayloadType: pt, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return nil, fmt.Errorf("h264 encoder: %w", err)
	}
	return &Track{Media: videoMedia(f), encode: avccEncoder(enc)}, nil
}

func h265Out(t media.Track, pt uint8) (*Track, error) {
	f := &format.H265{PayloadTyp: pt, VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
	enc := &rtph265.Encoder{PayloadType: pt}
	if err := enc.Init(); err != nil {
		return nil, fmt.Errorf("h265 encoder: %w", err)
	}
	return &Track{Media: videoMedia(f), encode: avccEncoder(enc)}, nil
}

func aacOut(t media.Track, pt uint8) (*Track, error) {
	var conf mpeg4audio.AudioSpecificConfig
	if err := conf.Unmarshal(t.AACConfig); err != nil {
		return nil, fmt.Errorf("aac config: %w", err)
	}
	f := &format.MPEG4Audio{PayloadTyp: pt, Config: &conf, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
	enc, err := f.CreateEncoder()
	if err != nil {
		return nil, fmt.Errorf("aac encoder: %w", err)
	}
	return audioOut(f, func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		return enc.Encode([][]byte{au.Payload})
	}), nil
}

func g711Out(t media.Track, pt uint8) (*Track, error) {
	f := &format.G711{PayloadTyp: pt, MULaw: t.Codec == media.CodecG711U,
		SampleRate: max(t.SampleRate, 8000), ChannelCount: max(t.ChannelCount, 1)}
	if f.SampleRate == 8000 && f.ChannelCount == 1 {
		f.PayloadTyp = 8
		if f.MULaw {
			f.PayloadTyp = 0
		}
	}
	enc, err := f.CreateEncoder()
	if err != nil {
		return nil, fmt.Errorf("g711 encoder: %w", err)
	}
	return audioOut(f, func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		if len(au.Payload) == 0 {
			return nil, ErrEmptyUnit
		}
		return enc.Encode(au.Payload)
	}), nil
}

// SameTracks reports whether a and b describe the same media: same
// codecs, clock rates and codec parameters, in the same order. A
// packetised session of a serves b unchanged.
func SameTracks(a, b []media.Track) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameTrack(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameTrack(a, b media.Track) bool {
	return a.Codec == b.Codec && a.ClockRate == b.ClockRate &&
		string(a.VPS) == string(b.VPS) && string(a.SPS) == string(b.SPS) && string(a.PPS) == string(b.PPS) &&
		string(a.AACConfig) == string(b.AACConfig) && a.SampleRate == b.SampleRate && a.ChannelCount == b.ChannelCount
}
