package playback

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/exportsig"
	"github.com/vigil-video/vigil/internal/index"
)

// maxReason is the longest export reason accepted, in characters.
const maxReason = 500

// maxInit bounds the init blocks read into memory.
const maxInit = 1 << 20

// Response headers of an export.
const (
	// HeaderExportStart is where the export's footage starts (RFC 3339):
	// the keyframe at or before from.
	HeaderExportStart = "Vigil-Export-Start"
	// HeaderExportEnd is where it ends: the end of the fragment holding
	// to, or earlier when a segment with another track layout (codec or
	// picture size change) follows, which an export does not join.
	HeaderExportEnd = "Vigil-Export-End"
	// HeaderSignature carries the export's detached signature when the
	// service has a Signer (docs/format/export-signature.md): the hub's
	// Ed25519 signature of a manifest holding the SHA-256 and size of the
	// WHOLE file, camera, Vigil-Export-Start/End, exporter, reason and
	// signing time. A Range answer carries the whole file's signature.
	HeaderSignature = exportsig.Header
)

// export serves GET /api/v1/cameras/{id}/export?from=&to=&reason=: one
// fragmented MP4 of the range (see the package documentation), with an
// exact Content-Length and HTTP Range.
func (s *Service) export(w http.ResponseWriter, r *http.Request, req api.Request) {
	q := r.URL.Query()
	from, to, err := parseRange(q)
	if err == nil {
		err = checkReason(q.Get("reason"))
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	clips, err := s.clips(r.Context(), req.Camera.ID, from, to)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	lay, clips, err := s.planExport(r.Context(), clips)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	start, end := clips[0].start(), clips[len(clips)-1].end()
	e := &exportEntry{camera: req.Camera.ID, user: req.Principal.Username, from: from, to: to,
		total: lay.size, started: s.now()}
	s.exports.add(e)
	defer s.exports.remove(e)
	rd := newExportReader(r.Context(), s.blobs, lay)
	defer rd.Close()
	var sig string
	if s.signer != nil {
		// The signature covers the whole file, also for a Range answer,
		// and goes out before the body: hash the export first.
		sig, err = s.signExport(r.Context(), rd, clips, exportsig.Manifest{Camera: req.Camera.ID,
			From: start, To: end, Exporter: req.Principal.Username, Reason: q.Get("reason")})
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
	}

	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s_%s_%s.mp4"`,
		req.Camera.ID, fileTime(start), fileTime(end)))
	h.Set("ETag", layoutETag(clips))
	h.Set(HeaderExportStart, fmtTime(start))
	h.Set(HeaderExportEnd, fmtTime(end))
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	// TODO(issue 5): audit the export and its reason here.
	s.log.Info("export started", "camera", req.Camera.ID, "user", req.Principal.Username,
		"from", fmtTime(start), "to", fmtTime(end), "bytes", lay.size, "reason", q.Get("reason"))
	http.ServeContent(&mediaWriter{ResponseWriter: w, sent: &e.sent}, r, "", clips[len(clips)-1].Seg.End, rd)
	if err := rd.Err(); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("export failed mid-stream", "camera", req.Camera.ID, "err", err)
	}
	s.log.Info("export ended", "camera", req.Camera.ID, "user", req.Principal.Username,
		"bytes_sent", e.sent.Load(), "duration", s.now().Sub(e.started))
}

// checkReason validates an export's reason: required, at most maxReason
// characters of UTF-8.
func checkReason(reason string) error {
	switch {
	case reason == "":
		return badQuery("reason is required: say why this footage is exported")
	case !utf8.ValidString(reason):
		return badQuery("reason: not valid UTF-8")
	case utf8.RuneCountInString(reason) > maxReason:
		return badQuery("reason: at most %d characters", maxReason)
	}
	return nil
}

// fileTime formats a time for a file name (no colons).
func fileTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// layoutETag identifies an export's bytes: the same segments, lengths and
// fragments give the same file.
func layoutETag(clips []clip) string {
	h := fnv.New64a()
	for _, c := range clips {
		fmt.Fprintf(h, "%d/%d/%d/%d;", c.Seg.ID, c.Seg.Bytes, c.First, c.Last)
	}
	return fmt.Sprintf(`"exp-%x"`, h.Sum64())
}

// planExport computes the layout of an export of clips. It reads the
// init block of each clip's segment; the export stops before the first
// segment whose init block differs from the first one's, so the clips it
// returns are those the export covers.
func (s *Service) planExport(ctx context.Context, clips []clip) (*exportLayout, []clip, error) {
	init, err := s.readInit(ctx, &clips[0].Seg)
	if err != nil {
		return nil, nil, err
	}
	lay, err := newLayout(init)
	if err != nil {
		return nil, nil, fmt.Errorf("export: %s: %w", clips[0].Seg.Path, err)
	}
	origin := clips[0].start()
	for k := range clips {
		c := &clips[k]
		if k > 0 {
			same, err := s.sameInit(ctx, &c.Seg, init)
			if err != nil {
				return nil, nil, err
			}
			if !same {
				s.log.Info("export stops at a change of track layout", "camera", c.Seg.Camera, "segment", c.Seg.ID)
				clips = clips[:k]
				break
			}
		}
		lay.addClip(c, origin)
	}
	return lay, clips, nil
}

// sameInit reports whether seg has exactly the init block init.
func (s *Service) sameInit(ctx context.Context, seg *index.Segment, init []byte) (bool, error) {
	if seg.InitSize != int64(len(init)) {
		return false, nil
	}
	other, err := s.readInit(ctx, seg)
	if err != nil {
		return false, err
	}
	return bytes.Equal(other, init), nil
}

// readInit reads the init block (ftyp+moov) of seg.
func (s *Service) readInit(ctx context.Context, seg *index.Segment) ([]byte, error) {
	if seg.InitSize > maxInit {
		return nil, fmt.Errorf("%s: init block of %d bytes", seg.Path, seg.InitSize)
	}
	f, err := s.blobs.Open(ctx, seg.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", seg.Path, err)
	}
	defer f.Close()
	buf := make([]byte, seg.InitSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("read init block of %s: %w", seg.Path, err)
	}
	return buf, nil
}

// durTicks converts d to ticks of a timescale, rounding to the nearest
// tick; it saturates at ±MaxInt64/2 instead of overflowing.
func durTicks(d time.Duration, timescale uint32) int64 {
	neg := d < 0
	if neg {
		d = max(-d, -(d + 1)) // -MinInt64 overflows: take MaxInt64 then
	}
	ts := int64(max(timescale, 1))
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	t := int64(math.MaxInt64 / 2)
	if sec < t/ts-1 {
		t = sec*ts + (rem*ts+int64(time.Second)/2)/int64(time.Second)
	}
	if neg {
		return -t
	}
	return t
}

// signExport returns the Vigil-Signature value of the export read by rd
// (left at offset 0), for m with the file's hash and size and the signing
// time filled in. The hash of a layout is computed once, reading the
// export through (bounded memory), and kept in s.sums for later requests
// of the same bytes (a player's Range requests).
func (s *Service) signExport(ctx context.Context, rd *exportReader, clips []clip, m exportsig.Manifest) (string, error) {
	key := layoutKey(clips)
	sum, ok := s.sums.get(key)
	if !ok {
		var err error
		if sum, err = hashExport(ctx, rd); err != nil {
			return "", err
		}
		s.sums.put(key, sum)
	}
	m.SHA256, m.Size, m.Time = sum, rd.l.size, s.now()
	m.From, m.To = m.From.Truncate(time.Millisecond), m.To.Truncate(time.Millisecond) // as in the headers
	sig, err := exportsig.Sign(s.signer, m)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return sig, nil
}

// hashExport reads the whole export through SHA-256 and seeks rd back to
// its start.
func hashExport(ctx context.Context, rd *exportReader) (string, error) {
	if _, err := rd.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("export: hash: %w", err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, rd, make([]byte, hashBuffer))
	if err == nil && n != rd.l.size {
		err = fmt.Errorf("%d bytes of %d", n, rd.l.size)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("export: hash: %w", err)
	}
	if _, err := rd.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("export: hash: %w", err)
	}
	rd.err = nil
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashBuffer is the read size while hashing an export.
const hashBuffer = 256 << 10

// layoutKey identifies an export's bytes exactly (unlike the short ETag):
// the same segments, at the same paths and starts, with the same lengths
// and fragments, make the same file.
func layoutKey(clips []clip) string {
	h := sha256.New()
	for _, c := range clips {
		fmt.Fprintf(h, "%d/%q/%d/%d/%d/%d;", c.Seg.ID, c.Seg.Path, c.Seg.Start.UnixNano(), c.Seg.Bytes, c.First, c.Last)
	}
	return string(h.Sum(nil))
}

// maxSums bounds the export hashes kept.
const maxSums = 256

// sumCache keeps the SHA-256 of recent exports by layoutKey; the oldest
// entry goes first when it is full. It is safe for concurrent use.
type sumCache struct {
	mu    sync.Mutex
	sums  map[string]string
	order []string
}

func (c *sumCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum, ok := c.sums[key]
	return sum, ok
}

func (c *sumCache) put(key, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sums == nil {
		c.sums = map[string]string{}
	}
	if _, ok := c.sums[key]; ok {
		return
	}
	if len(c.order) >= maxSums {
		delete(c.sums, c.order[0])
		c.order = c.order[1:]
	}
	c.sums[key] = sum
	c.order = append(c.order, key)
}
