package snapshot

import (
	"context"
	"fmt"
	"net"

	"github.com/vigil-video/vigil/internal/media"
)

// annexBStart is the 4-byte Annex-B start code put before every NAL unit.
var annexBStart = []byte{0, 0, 0, 1}

// ffmpegRawFormat is ffmpeg's demuxer for each video codec's Annex-B
// elementary stream.
var ffmpegRawFormat = map[media.Codec]string{
	media.CodecH264: "h264",
	media.CodecH265: "hevc",
}

// lastFrames is how many of the GOP's last decoded frames are encoded:
// more than one so that a frame the decoder drops still leaves a picture.
const lastFrames = 2

// Live returns the camera's latest picture as JPEG: the stream's kept GOP
// (keyframe first) is decoded and its last frame kept. width > 0 scales
// it. ErrNotStreaming when nobody publishes or no keyframe came yet.
func (s *Service) Live(ctx context.Context, camera string, width int) ([]byte, error) {
	if s.deps.Streams == nil {
		return nil, ErrNotStreaming
	}
	st, ok := s.deps.Streams.Stream(camera)
	if !ok {
		return nil, ErrNotStreaming
	}
	tracks, gop := st.GOP()
	in, frames, format, err := annexB(tracks, gop)
	if err != nil {
		return nil, err
	}
	jpg, err := s.decode(ctx, &in, decodeArgs{inputFormat: format,
		selectExpr: fmt.Sprintf(`gte(n\,%d)`, max(frames-lastFrames, 0)), width: width})
	if err != nil {
		return nil, fmt.Errorf("live snapshot of %s: %w", camera, err)
	}
	return jpg, nil
}

// annexB lays out the GOP's video units as an Annex-B stream (parameter
// sets first) without copying them, and returns it with its frame count
// and ffmpeg's name for its format.
func annexB(tracks []media.Track, gop []*media.AccessUnit) (net.Buffers, int, string, error) {
	vt, ok := videoTrack(tracks)
	if !ok {
		return nil, 0, "", ErrNotStreaming
	}
	format, ok := ffmpegRawFormat[vt.Codec]
	if !ok {
		return nil, 0, "", fmt.Errorf("live snapshot: codec %s cannot be decoded", vt.Codec)
	}
	var bufs net.Buffers
	for _, ps := range [][]byte{vt.VPS, vt.SPS, vt.PPS} {
		if len(ps) > 0 {
			bufs = append(bufs, annexBStart, ps)
		}
	}
	frames := 0
	for _, au := range gop {
		if au.Track != vt.ID || len(au.NALUs) == 0 {
			continue
		}
		frames++
		for _, n := range au.NALUs {
			bufs = append(bufs, annexBStart, n)
		}
	}
	if frames == 0 {
		return nil, 0, "", ErrNotStreaming
	}
	return bufs, frames, format, nil
}

// videoTrack returns the first video track.
func videoTrack(tracks []media.Track) (media.Track, bool) {
	for _, t := range tracks {
		if t.IsVideo() {
			return t, true
		}
	}
	return media.Track{}, false
}
