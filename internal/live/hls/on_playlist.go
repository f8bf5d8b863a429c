package hls

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/api"
)

// msgNotStreaming answers for a camera with no live video.
const msgNotStreaming = "camera is not streaming"

// servePlaylist answers GET /api/v1/cameras/{id}/live.m3u8.
func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, req api.Request) {
	br, err := parseBlock(r.URL.Query())
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	m, err := s.muxer(req.Camera.ID, true)
	if err != nil {
		s.unavailable(w, req.Camera.ID, err)
		return
	}
	if !m.waitReady(r.Context(), s.cfg.StartTimeout) {
		api.WriteError(w, http.StatusServiceUnavailable, msgNotStreaming)
		return
	}
	if br.block {
		if status, msg := m.waitBlock(r.Context(), br); status != http.StatusOK {
			api.WriteError(w, status, msg)
			return
		}
	}
	m.mu.Lock()
	body := m.playlistLocked()
	m.mu.Unlock()
	m.touch()
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// unavailable answers a request whose muxer could not start.
func (s *Server) unavailable(w http.ResponseWriter, camera string, err error) {
	if errors.Is(err, errStopped) {
		api.WriteError(w, http.StatusServiceUnavailable, "live view is shutting down")
		return
	}
	s.deps.Logger.Info("live hls: no stream", "camera", camera, "error", err)
	api.WriteError(w, http.StatusServiceUnavailable, msgNotStreaming)
}

// waitReady waits up to d for the first complete segment. A stream with
// no publisher yet (an on-demand transcode starting) is waited for; one
// whose publisher has no usable video answers at once.
func (m *muxer) waitReady(ctx context.Context, d time.Duration) bool {
	return m.wait(ctx, d, func() (bool, bool) {
		return m.readyLocked(), m.closed || (m.begun && m.sess.video < 0)
	})
}

// waitBlock waits for a blocking playlist reload's part, up to three target
// durations. It returns 200, or the error status and message to answer.
func (m *muxer) waitBlock(ctx context.Context, br blockRequest) (int, string) {
	m.mu.Lock()
	last, _ := m.lastMSNLocked()
	tooFar := br.msn > last+2
	limit := 3 * time.Duration(m.targetDuration()) * time.Second
	m.mu.Unlock()
	if tooFar {
		return http.StatusBadRequest, "_HLS_msn is too far ahead of the playlist"
	}
	ok := m.wait(ctx, limit, func() (bool, bool) { return m.haveLocked(br.msn, br.part), m.closed })
	if !ok {
		return http.StatusServiceUnavailable, "the requested part is not available yet"
	}
	return http.StatusOK, ""
}

// wait blocks until cond reports done (true) or stop, for at most d or
// until ctx ends. It returns whether cond was met. cond runs under mu.
func (m *muxer) wait(ctx context.Context, d time.Duration, cond func() (done, stop bool)) bool {
	var timer *time.Timer
	for {
		m.mu.Lock()
		done, stop := cond()
		ch := m.changed
		m.mu.Unlock()
		if done || stop {
			return done
		}
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
