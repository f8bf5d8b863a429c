package ingest

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

// errBadPayload is returned for an AVCC payload that does not parse.
var errBadPayload = errors.New("empty access unit")

// trackOut packetises one track for re-streaming.
type trackOut struct {
	medi   *description.Media
	encode func(au *media.AccessUnit) ([]*rtp.Packet, error)
}

// newTrackOut returns the RTP media and encoder of t, or nil for codecs
// that are not re-streamed. n is the media's index.
func newTrackOut(t media.Track, n int) (*trackOut, error) {
	pt := uint8(96 + n)
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
			return nil, err
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

func audioOut(f format.Format, enc func(*media.AccessUnit) ([]*rtp.Packet, error)) *trackOut {
	return &trackOut{medi: &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}, encode: enc}
}

// nalEncoder is an RTP encoder of NAL units (rtph264, rtph265).
type nalEncoder interface {
	Encode(nalus [][]byte) ([]*rtp.Packet, error)
}

// avccEncoder encodes video access units with enc.
func avccEncoder(enc nalEncoder) func(*media.AccessUnit) ([]*rtp.Packet, error) {
	return func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		if len(au.NALUs) == 0 {
			return nil, errBadPayload
		}
		return enc.Encode(au.NALUs)
	}
}

func h264Out(t media.Track, pt uint8) (*trackOut, error) {
	f := &format.H264{PayloadTyp: pt, SPS: t.SPS, PPS: t.PPS, PacketizationMode: 1}
	enc := &rtph264.Encoder{PayloadType: pt, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return nil, err
	}
	return &trackOut{medi: videoMedia(f), encode: avccEncoder(enc)}, nil
}

func h265Out(t media.Track, pt uint8) (*trackOut, error) {
	f := &format.H265{PayloadTyp: pt, VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
	enc := &rtph265.Encoder{PayloadType: pt}
	if err := enc.Init(); err != nil {
		return nil, err
	}
	return &trackOut{medi: videoMedia(f), encode: avccEncoder(enc)}, nil
}

func aacOut(t media.Track, pt uint8) (*trackOut, error) {
	var conf mpeg4audio.AudioSpecificConfig
	if err := conf.Unmarshal(t.AACConfig); err != nil {
		return nil, fmt.Errorf("aac config: %w", err)
	}
	f := &format.MPEG4Audio{PayloadTyp: pt, Config: &conf, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
	enc, err := f.CreateEncoder()
	if err != nil {
		return nil, err
	}
	return audioOut(f, func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		return enc.Encode([][]byte{au.Payload})
	}), nil
}

func g711Out(t media.Track, pt uint8) (*trackOut, error) {
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
		return nil, err
	}
	return audioOut(f, func(au *media.AccessUnit) ([]*rtp.Packet, error) {
		if len(au.Payload) == 0 {
			return nil, errBadPayload
		}
		return enc.Encode(au.Payload)
	}), nil
}
