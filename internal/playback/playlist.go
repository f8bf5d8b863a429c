package playback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-video/vigil/internal/api"
)

// playlist serves GET /api/v1/cameras/{id}/playback.m3u8?from=&to=: an HLS
// VOD playlist of the stored fragments covering [from, to), built from the
// index alone (see the package documentation for its layout).
func (s *Service) playlist(w http.ResponseWriter, r *http.Request, req api.Request) {
	from, to, err := parseRange(r.URL.Query())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	clips, err := s.clips(r.Context(), req.Camera.ID, from, to)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_ = writePlaylist(w, clips) // an error means the client left
	}
}

// noFootageError answers a range with nothing recorded (404).
type noFootageError struct{ msg string }

func (e *noFootageError) Error() string { return e.msg }

// clips loads the camera's segments for [from, to) and picks the fragments
// to serve; a range without footage is a noFootageError.
func (s *Service) clips(ctx context.Context, camera string, from, to time.Time) ([]clip, error) {
	segs, err := s.idx.Segments(ctx, camera, from, to)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	clips, bad := selectClips(segs, from, to)
	for _, err := range bad {
		s.log.Warn("skipping an inconsistent index row", "camera", camera, "err", err)
	}
	if len(clips) == 0 {
		msg := fmt.Sprintf("no footage recorded between %s and %s", fmtTime(from), fmtTime(to))
		if gaps, err := s.idx.Gaps(ctx, camera, from, to); err == nil && len(gaps) > 0 {
			msg += fmt.Sprintf(" (footage %s there: %s)", gaps[0].State, gaps[0].Reason)
		}
		return nil, &noFootageError{msg: msg}
	}
	return clips, nil
}

// writeErr answers err: 400 for a bad query, 404 for no footage, 500
// (logged, never echoed) for anything else.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var re *rangeError
	var nf *noFootageError
	switch {
	case errors.As(err, &re):
		api.WriteError(w, http.StatusBadRequest, re.msg)
	case errors.As(err, &nf):
		api.WriteError(w, http.StatusNotFound, nf.msg)
	case errors.Is(err, context.Canceled):
		// the client went away
	default:
		s.log.Error("playback request failed", "path", r.URL.Path, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal error")
	}
}

// joinTolerance is the largest hole between two files still played as
// one timeline (no discontinuity); it matches the recordings API's spans.
const joinTolerance = 1500 * time.Millisecond

// writePlaylist writes the HLS VOD playlist of clips to w, a few clips at
// a time (a 24-hour playlist is megabytes; it never sits in memory whole).
// Media URIs are relative ("segments/{seg}.mp4?t0=..."), so they resolve
// next to playback.m3u8; t0 (the playlist's first fragment start) makes
// the segment route count decode times from the same origin in every file.
func writePlaylist(w io.Writer, clips []clip) error {
	independent := true
	var longest time.Duration
	for _, c := range clips {
		for i := c.First; i <= c.Last; i++ {
			independent = independent && c.Seg.Fragments[i].Key
			longest = max(longest, fragEnd(&c.Seg, i).Sub(fragStart(&c.Seg, i)))
		}
	}
	const chunk = 32 << 10
	b := make([]byte, 0, chunk+16<<10)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, max(1, int64(math.Ceil(longest.Seconds()))), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:0\n"...)
	if independent {
		b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	t0 := "?t0=" + clips[0].start().UTC().Format(time.RFC3339Nano)
	for k := range clips {
		disc := k > 0 && !joins(&clips[k-1], &clips[k])
		b = appendClip(b, &clips[k], t0, disc)
		if len(b) >= chunk {
			if _, err := w.Write(b); err != nil {
				return fmt.Errorf("write playlist: %w", err)
			}
			b = b[:0]
		}
	}
	b = append(b, "#EXT-X-ENDLIST\n"...)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write playlist: %w", err)
	}
	return nil
}

// joins reports whether next continues prev's timeline: it starts where
// prev ends (within joinTolerance) and looks like the same track layout.
// Anything else is a discontinuity (a gap, a clock step or a new layout).
func joins(prev, next *clip) bool {
	hole := next.start().Sub(prev.end())
	return hole >= -joinTolerance && hole <= joinTolerance &&
		prev.Seg.Codecs == next.Seg.Codecs && prev.Seg.InitSize == next.Seg.InitSize
}

// appendClip writes one segment file's run of fragments, with its init
// block and the wall time of its first fragment.
func appendClip(b []byte, c *clip, t0 string, discontinuity bool) []byte {
	seg := &c.Seg
	uri := "segments/" + strconv.FormatInt(seg.ID, 10) + ".mp4" + t0
	if discontinuity {
		b = append(b, "#EXT-X-DISCONTINUITY\n"...)
	}
	b = append(b, `#EXT-X-MAP:URI="`...)
	b = append(b, uri...)
	b = append(b, `",BYTERANGE="`...)
	b = strconv.AppendInt(b, seg.InitSize, 10)
	b = append(b, "@0\"\n#EXT-X-PROGRAM-DATE-TIME:"...)
	b = append(b, fmtTime(c.start())...)
	b = append(b, '\n')
	for i := c.First; i <= c.Last; i++ {
		off, end := fragBytes(seg, i)
		d := max(fragEnd(seg, i).Sub(fragStart(seg, i)), 0)
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, d.Seconds(), 'f', 6, 64)
		b = append(b, ",\n#EXT-X-BYTERANGE:"...)
		b = strconv.AppendInt(b, end-off, 10)
		b = append(b, '@')
		b = strconv.AppendInt(b, off, 10)
		b = append(b, '\n')
		b = append(b, uri...)
		b = append(b, '\n')
	}
	return b
}
