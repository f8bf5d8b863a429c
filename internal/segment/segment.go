// Package segment owns Vigil's on-disk recording format: fragmented MP4
// files made of an init block (ftyp+moov) followed by fragments (moof+mdat),
// each about one second long. It writes fragment headers directly (no
// reflection) and scans files back (crash recovery), and names segment files.
//
// The format is documented in docs/format/segment.md. Everything here is
// pure: no I/O beyond the io.ReaderAt handed in.
package segment

import (
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/vigil-video/vigil/internal/media"
)

// mp4Codec maps a media track to its fMP4 sample description.
func mp4Codec(t media.Track) (codecs.Codec, error) {
	switch t.Codec {
	case media.CodecH264:
		if len(t.SPS) == 0 || len(t.PPS) == 0 {
			return nil, fmt.Errorf("h264 track %d has no SPS/PPS", t.ID)
		}
		return &codecs.H264{SPS: t.SPS, PPS: t.PPS}, nil
	case media.CodecH265:
		if len(t.VPS) == 0 || len(t.SPS) == 0 || len(t.PPS) == 0 {
			return nil, fmt.Errorf("h265 track %d has no VPS/SPS/PPS", t.ID)
		}
		return &codecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}, nil
	case media.CodecAAC:
		var conf mpeg4audio.AudioSpecificConfig
		if err := conf.Unmarshal(t.AACConfig); err != nil {
			return nil, fmt.Errorf("aac track %d config: %w", t.ID, err)
		}
		return &codecs.MPEG4Audio{Config: conf}, nil
	case media.CodecOpus:
		ch := t.ChannelCount
		if ch == 0 {
			ch = 2
		}
		return &codecs.Opus{ChannelCount: ch}, nil
	}
	return nil, fmt.Errorf("codec %s cannot be recorded", t.Codec)
}

// Init builds the init block for tracks. Track IDs in the file are the
// position in tracks plus one; timescales are the tracks' clock rates.
func Init(tracks []media.Track) ([]byte, error) {
	init := fmp4.Init{}
	for i, t := range tracks {
		c, err := mp4Codec(t)
		if err != nil {
			return nil, err
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        i + 1,
			TimeScale: uint32(t.ClockRate),
			Codec:     c,
		})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("marshal init: %w", err)
	}
	return buf.Bytes(), nil
}

// CodecList returns the comma-separated codec names of tracks.
func CodecList(tracks []media.Track) string {
	names := make([]string, len(tracks))
	for i, t := range tracks {
		names[i] = t.Codec.String()
	}
	return strings.Join(names, ",")
}

// Key returns the blob key of a segment of camera starting at start:
// "<camera>/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS.ffffffZ>.mp4" (UTC). The start
// time is in the name so a file can be re-indexed from disk alone.
func Key(camera string, start time.Time) string {
	u := start.UTC()
	return camera + "/" + u.Format("2006-01-02") + "/" + u.Format("20060102T150405.000000Z") + ".mp4"
}

// ParseKey is the inverse of Key.
func ParseKey(key string) (camera string, start time.Time, err error) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || !strings.HasSuffix(parts[2], ".mp4") || parts[0] == "" {
		return "", time.Time{}, fmt.Errorf("segment key %q: not camera/day/start.mp4", key)
	}
	start, err = time.Parse("20060102T150405.000000Z", strings.TrimSuffix(parts[2], ".mp4"))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("segment key %q: %w", key, err)
	}
	return parts[0], start, nil
}
