package depacket

import (
	"errors"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/vigil-video/vigil/internal/media"
)

// newCodec returns the codec and initial track for forma, or a nil codec
// when the format is not supported.
func newCodec(forma format.Format, id int, opts Options) (codec, media.Track, error) {
	switch f := forma.(type) {
	case *format.H264:
		return newH264(f, id, opts)
	case *format.H265:
		return newH265(f, id, opts)
	case *format.MPEG4Audio:
		return newAAC(f, id)
	case *format.MPEG4AudioLATM:
		return newLATM(f, id)
	case *format.Opus:
		return newOpus(f, id)
	case *format.G711:
		return newG711(f, id)
	}
	return nil, media.Track{}, nil
}

func h264Spec() *videoSpec {
	return &videoSpec{
		codec: media.CodecH264,
		paramKind: func(n []byte) int {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				return paramSPS
			case h264.NALUTypePPS:
				return paramPPS
			}
			return paramNone
		},
		discard: func(n []byte) bool {
			t := h264.NALUType(n[0] & 0x1f)
			return t == h264.NALUTypeAccessUnitDelimiter || t == h264.NALUTypeFillerData
		},
		isKey: h264.IsRandomAccess,
		parseSPS: func(b []byte) (int, int, error) {
			var sps h264.SPS
			if err := sps.Unmarshal(b); err != nil {
				return 0, 0, err
			}
			return sps.Width(), sps.Height(), nil
		},
		newExtractor: func() dtsExtractor {
			e := &h264.DTSExtractor{}
			e.Initialize()
			return e
		},
		flushOnTimestamp: true,
	}
}

func h265Spec() *videoSpec {
	return &videoSpec{
		codec: media.CodecH265,
		paramKind: func(n []byte) int {
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				return paramVPS
			case h265.NALUType_SPS_NUT:
				return paramSPS
			case h265.NALUType_PPS_NUT:
				return paramPPS
			}
			return paramNone
		},
		discard: func(n []byte) bool {
			if len(n) < 2 {
				return true // an H.265 NAL unit header is 2 bytes
			}
			t := h265.NALUType((n[0] >> 1) & 0x3f)
			return t == h265.NALUType_AUD_NUT || t == h265.NALUType_FD_NUT
		},
		isKey: h265.IsRandomAccess,
		parseSPS: func(b []byte) (int, int, error) {
			var sps h265.SPS
			if err := sps.Unmarshal(b); err != nil {
				return 0, 0, err
			}
			return sps.Width(), sps.Height(), nil
		},
		newExtractor: func() dtsExtractor {
			e := &h265.DTSExtractor{}
			e.Initialize()
			return e
		},
		needVPS: true,
	}
}

func newH264(f *format.H264, id int, opts Options) (codec, media.Track, error) {
	dec, err := f.CreateDecoder()
	if err != nil {
		opts.Logger.Info("skipping H.264 track", "error", err.Error())
		return nil, media.Track{}, nil
	}
	benign := func(err error) bool {
		return errors.Is(err, rtph264.ErrMorePacketsNeeded) || errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious)
	}
	sps, pps := f.SafeParams()
	renew := func() (rtpVideoDecoder, error) { return f.CreateDecoder() }
	return newVideo(h264Spec(), dec, renew, benign, id, opts, [paramCount][]byte{nil, sps, pps}, f.ClockRate())
}

func newH265(f *format.H265, id int, opts Options) (codec, media.Track, error) {
	dec, err := f.CreateDecoder()
	if err != nil {
		opts.Logger.Info("skipping H.265 track", "error", err.Error())
		return nil, media.Track{}, nil
	}
	benign := func(err error) bool {
		return errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious)
	}
	vps, sps, pps := f.SafeParams()
	renew := func() (rtpVideoDecoder, error) { return f.CreateDecoder() }
	return newVideo(h265Spec(), dec, renew, benign, id, opts, [paramCount][]byte{vps, sps, pps}, f.ClockRate())
}

// newVideo builds a video codec with the SDP's parameter sets. An SPS that
// does not parse is ignored (the in-band one is awaited); one that parses
// to an absurd size fails the session at once.
func newVideo(spec *videoSpec, dec rtpVideoDecoder, renew func() (rtpVideoDecoder, error),
	benign func(error) bool, id int, opts Options,
	sdp [paramCount][]byte, clockRate int,
) (codec, media.Track, error) {
	c := &videoCodec{
		spec: spec, dec: dec, renew: renew, benign: benign, ext: spec.newExtractor(),
		maxW: opts.MaxWidth, maxH: opts.MaxHeight, waitKey: true,
	}
	t := media.Track{ID: id, Codec: spec.codec, ClockRate: clockRate}
	if len(sdp[paramSPS]) == 0 {
		return c, t, nil
	}
	w, h, err := c.checkSPS(sdp[paramSPS])
	switch {
	case errors.Is(err, ErrResolution):
		return nil, t, &ParamsError{Track: id, Codec: spec.codec, Err: err}
	case err != nil:
		opts.Logger.Warn("ignoring the SDP's parameter sets, waiting for in-band ones",
			"track", id, "codec", spec.codec.String(), "error", err.Error())
		return c, t, nil
	}
	for k, p := range sdp {
		if len(p) > 0 {
			c.params[k] = append([]byte(nil), p...)
		}
	}
	t.VPS, t.SPS, t.PPS = c.params[paramVPS], c.params[paramSPS], c.params[paramPPS]
	t.Width, t.Height = w, h
	return c, t, nil
}

func isNonStarting(err error) bool {
	return errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) ||
		errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious)
}
