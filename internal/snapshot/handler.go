package snapshot

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// Errors that decide the answer's status.
var (
	// ErrNotStreaming: the camera has no live picture now (503).
	ErrNotStreaming = errors.New("camera is not streaming")
	// ErrNoFootage: nothing is recorded at the asked time (404).
	ErrNoFootage = errors.New("no footage at that time")
	// ErrBusy: every decoder stayed busy for Config.QueueWait (429).
	ErrBusy = errors.New("too many snapshots in progress")
)

// serveSnapshot serves GET /api/v1/cameras/{id}/snapshot.jpg?at=&width=.
func (s *Service) serveSnapshot(w http.ResponseWriter, r *http.Request, req api.Request) {
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !q.At.IsZero() && !req.Principal.Can(auth.PermPlayback) {
		api.WriteError(w, http.StatusForbidden, "a snapshot at a time needs the playback permission")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	var jpg []byte
	if q.At.IsZero() {
		jpg, err = s.Live(ctx, req.Camera.ID, q.Width)
	} else {
		jpg, err = s.At(ctx, req.Camera.ID, q.At, q.Width)
	}
	if err != nil {
		s.writeError(w, r, req.Camera.ID, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "no-store")
	// ServeContent answers Range requests too (a snapshot at a time is
	// the same picture every time, so a resumed download fits together).
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(jpg))
}

// writeError answers err with its status; unexpected errors are logged
// and answered 500 without detail.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, camera string, err error) {
	switch {
	case errors.Is(err, ErrNotStreaming):
		api.WriteError(w, http.StatusServiceUnavailable, "camera is offline: no live picture")
	case errors.Is(err, ErrNoFootage):
		api.WriteError(w, http.StatusNotFound, "no footage at that time")
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "1")
		api.WriteError(w, http.StatusTooManyRequests, "too many snapshots in progress; try again shortly")
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("snapshot timed out", "camera", camera, "timeout", s.cfg.Timeout)
		api.WriteError(w, http.StatusServiceUnavailable, "snapshot timed out")
	default:
		s.log.Error("snapshot failed", "camera", camera, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "snapshot failed")
	}
}
