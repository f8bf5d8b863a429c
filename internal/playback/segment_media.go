package playback

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"
)

// segmentMedia serves GET /api/v1/cameras/{id}/segments/{seg}[?t0=]: the
// bytes of one stored segment file, with HTTP Range. {seg} is the segment
// id, optionally followed by ".mp4" (playlists use that form: ffmpeg's
// HLS reader refuses media URLs without a known extension). A segment that
// does not exist, belongs to another camera or is being deleted is a 404;
// an open segment serves only its durable bytes [0, Bytes).
//
// With t0 (an RFC 3339 time) every fragment's moof is patched in place so
// that decode time 0 is wall time t0: the files of a playlist then form
// one continuous timeline (each stored file starts at decode time 0).
// Only decode times change; sizes, offsets and samples stay as stored.
func (s *Service) segmentMedia(w http.ResponseWriter, r *http.Request, req api.Request) {
	id, err := strconv.ParseInt(strings.TrimSuffix(r.PathValue("seg"), ".mp4"), 10, 64)
	if err != nil || id <= 0 {
		api.WriteError(w, http.StatusBadRequest, "seg: want a segment id such as 42 or 42.mp4")
		return
	}
	var t0 time.Time
	if v := r.URL.Query().Get("t0"); v != "" {
		if t0, err = parseTime("t0", v); err != nil {
			s.writeErr(w, r, err)
			return
		}
	}
	seg, err := s.idx.GetSegment(r.Context(), id)
	if errors.Is(err, index.ErrNotFound) || (err == nil && (seg.Camera != req.Camera.ID || seg.State == index.SegmentDeleting)) {
		api.WriteError(w, http.StatusNotFound, "segment not found")
		return
	}
	if err != nil {
		s.writeErr(w, r, fmt.Errorf("get segment %d: %w", id, err))
		return
	}
	if t0.IsZero() {
		s.serveStored(w, r, &seg)
	} else {
		s.serveRebased(w, r, &seg, t0)
	}
}

// serveStored answers the segment's bytes as stored.
func (s *Service) serveStored(w http.ResponseWriter, r *http.Request, seg *index.Segment) {
	f, err := s.blobs.Open(r.Context(), seg.Path)
	if err != nil {
		s.writeErr(w, r, fmt.Errorf("open segment %d: %w", seg.ID, err))
		return
	}
	defer f.Close()
	if f.Size() < seg.Bytes {
		s.writeErr(w, r, fmt.Errorf("segment %d: file holds %d bytes, index says %d", seg.ID, f.Size(), seg.Bytes))
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	// Bytes [0, Bytes) of a segment never change (files are append-only),
	// so id and length identify the content.
	w.Header().Set("ETag", fmt.Sprintf(`"seg-%d-%d"`, seg.ID, seg.Bytes))
	http.ServeContent(&mediaWriter{ResponseWriter: w}, r, "", seg.End, io.NewSectionReader(f, 0, seg.Bytes))
}

// serveRebased answers the segment with decode times counted from t0.
func (s *Service) serveRebased(w http.ResponseWriter, r *http.Request, seg *index.Segment, t0 time.Time) {
	if err := checkSegment(seg); err != nil {
		s.writeErr(w, r, err)
		return
	}
	init, err := s.readInit(r.Context(), seg)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	lay, err := newLayout(init)
	if err != nil {
		s.writeErr(w, r, fmt.Errorf("segment %d: %w", seg.ID, err))
		return
	}
	lay.keepSeq = true
	if len(seg.Fragments) > 0 {
		lay.addClip(&clip{Seg: *seg, First: 0, Last: len(seg.Fragments) - 1}, t0)
	}
	rd := newExportReader(r.Context(), s.blobs, lay)
	defer rd.Close()
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("ETag", fmt.Sprintf(`"seg-%d-%d-%d"`, seg.ID, seg.Bytes, t0.UnixMicro()))
	http.ServeContent(&mediaWriter{ResponseWriter: w}, r, "", seg.End, rd)
	if err := rd.Err(); err != nil && r.Context().Err() == nil {
		s.log.Error("segment read failed mid-stream", "segment", seg.ID, "err", err)
	}
}
