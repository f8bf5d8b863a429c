package depacket

import (
	"errors"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpfragmented"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// aacCodec decodes RFC 3640 MPEG-4 audio: one unit per AAC frame.
type aacCodec struct {
	dec     *rtpmpeg4audio.Decoder
	samples int64 // samples per AAC frame
}

func newAAC(f *format.MPEG4Audio, id int) (codec, media.Track, error) {
	if f.Config == nil {
		return nil, media.Track{}, nil
	}
	dec, err := f.CreateDecoder()
	if err != nil {
		return nil, media.Track{}, nil //nolint:nilerr // unsupported variant: skipped
	}
	t, ok := aacTrack(f.Config, id, f.ClockRate())
	if !ok {
		return nil, media.Track{}, nil
	}
	return &aacCodec{dec: dec, samples: aacFrameSamples(f.Config)}, t, nil
}

func aacTrack(conf *mpeg4audio.AudioSpecificConfig, id, clockRate int) (media.Track, bool) {
	raw, err := conf.Marshal()
	if err != nil || clockRate <= 0 {
		return media.Track{}, false
	}
	return media.Track{
		ID: id, Codec: media.CodecAAC, ClockRate: clockRate,
		AACConfig: raw, SampleRate: conf.SampleRate, ChannelCount: aacChannels(conf),
	}, true
}

func aacChannels(conf *mpeg4audio.AudioSpecificConfig) int {
	switch {
	case conf.ChannelConfig == 7:
		return 8
	case conf.ChannelConfig > 0 && conf.ChannelConfig < 7:
		return int(conf.ChannelConfig)
	case conf.ChannelCount > 0: //nolint:staticcheck // older field, still filled
		return conf.ChannelCount //nolint:staticcheck
	}
	return 2
}

func aacFrameSamples(conf *mpeg4audio.AudioSpecificConfig) int64 {
	if conf.FrameLengthFlag {
		return 960
	}
	return mpeg4audio.SamplesPerAccessUnit
}

func (c *aacCodec) decode(st *trackState, pkt *rtp.Packet, pts int64) {
	aus, err := c.dec.Decode(pkt)
	if err != nil {
		if !errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
			st.warn("decode", "dropping undecodable audio packets", err)
			st.drop()
		}
		return
	}
	emitFrames(st, aus, pts, c.samples, pkt)
}

// emitFrames delivers consecutive audio frames starting at pts.
func emitFrames(st *trackState, frames [][]byte, pts, step int64, pkt *rtp.Packet) {
	for i, f := range frames {
		if len(f) == 0 {
			continue
		}
		p := pts + int64(i)*step
		st.emit(unit{pts: p, dts: p, key: true, payload: append([]byte(nil), f...)}, pkt, pts)
	}
}

// latmCodec decodes RFC 6416 LATM MPEG-4 audio.
type latmCodec struct {
	dec      *rtpfragmented.Decoder
	cPresent bool
	conf     *mpeg4audio.StreamMuxConfig
	step     int64 // PTS distance between frames
}

func newLATM(f *format.MPEG4AudioLATM, id int) (codec, media.Track, error) {
	conf := f.StreamMuxConfig
	if conf == nil || len(conf.Programs) == 0 || len(conf.Programs[0].Layers) == 0 ||
		conf.Programs[0].Layers[0].AudioSpecificConfig == nil {
		return nil, media.Track{}, nil
	}
	dec, err := f.CreateDecoder()
	if err != nil {
		return nil, media.Track{}, nil //nolint:nilerr // unsupported variant: skipped
	}
	asc := conf.Programs[0].Layers[0].AudioSpecificConfig
	t, ok := aacTrack(asc, id, f.ClockRate())
	if !ok {
		return nil, media.Track{}, nil
	}
	// with the config in band the RTP clock is 90 kHz, not the sample rate
	step := aacFrameSamples(asc) * int64(t.ClockRate) / int64(max(asc.SampleRate, 1))
	return &latmCodec{dec: dec, cPresent: f.CPresent, conf: conf, step: step}, t, nil
}

func (c *latmCodec) decode(st *trackState, pkt *rtp.Packet, pts int64) {
	buf, err := c.dec.Decode(pkt)
	if err != nil {
		if !errors.Is(err, rtpfragmented.ErrMorePacketsNeeded) {
			st.warn("decode", "dropping undecodable audio packets", err)
			st.drop()
		}
		return
	}
	el := mpeg4audio.AudioMuxElement{MuxConfigPresent: c.cPresent, StreamMuxConfig: c.conf}
	if err := el.Unmarshal(buf); err != nil {
		st.warn("decode", "dropping undecodable LATM element", err)
		st.drop()
		return
	}
	frames := make([][]byte, 0, len(el.Payloads))
	for _, sub := range el.Payloads {
		if len(sub) > 0 && len(sub[0]) > 0 {
			frames = append(frames, sub[0][0])
		}
	}
	emitFrames(st, frames, pts, c.step, pkt)
}

// packetCodec delivers each RTP payload as one unit (Opus, G.711).
type packetCodec struct {
	dec interface {
		Decode(pkt *rtp.Packet) ([]byte, error)
	}
}

func (c *packetCodec) decode(st *trackState, pkt *rtp.Packet, pts int64) {
	buf, err := c.dec.Decode(pkt)
	if err != nil || len(buf) == 0 {
		st.drop()
		return
	}
	st.emit(unit{pts: pts, dts: pts, key: true, payload: append([]byte(nil), buf...)}, pkt, pts)
}

func newOpus(f *format.Opus, id int) (codec, media.Track, error) {
	dec, err := f.CreateDecoder()
	if err != nil {
		return nil, media.Track{}, nil //nolint:nilerr // unsupported variant: skipped
	}
	ch := f.ChannelCount
	if ch <= 0 {
		ch = 2
	}
	return &packetCodec{dec: dec}, media.Track{
		ID: id, Codec: media.CodecOpus, ClockRate: f.ClockRate(), SampleRate: 48000, ChannelCount: ch,
	}, nil
}

func newG711(f *format.G711, id int) (codec, media.Track, error) {
	dec, err := f.CreateDecoder()
	if err != nil || f.ClockRate() <= 0 {
		return nil, media.Track{}, nil //nolint:nilerr // unsupported variant: skipped
	}
	c := media.CodecG711A
	if f.MULaw {
		c = media.CodecG711U
	}
	return &packetCodec{dec: dec}, media.Track{
		ID: id, Codec: c, ClockRate: f.ClockRate(), SampleRate: f.SampleRate, ChannelCount: f.ChannelCount,
	}, nil
}
