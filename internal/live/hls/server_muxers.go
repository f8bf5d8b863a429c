package hls

import (
	"errors"
	"fmt"
	"time"
)

// errStopped is returned for requests after Run returned.
var errStopped = errors.New("live hls server stopped")

// muxer returns the camera's running muxer, starting it on first use
// when start is set. It returns (nil, nil) when none runs and start is
// false.
func (s *Server) muxer(camera string, start bool) (*muxer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, errStopped
	}
	if e, ok := s.muxers[camera]; ok {
		e.m.touch()
		return e.m, nil
	}
	if !start {
		return nil, nil
	}
	st, release, err := s.deps.Streams.BrowserStream(camera)
	if err != nil {
		return nil, fmt.Errorf("live stream of camera %s: %w", camera, err)
	}
	m := newMuxer(s.cfg, s.deps.Logger.With("camera", camera))
	m.touch()
	st.AddReader(m) // replays Begin and the kept GOP inline
	m.endReplay()
	s.muxers[camera] = &entry{m: m, st: st, release: release}
	s.deps.Logger.Debug("live hls muxer started", "camera", camera)
	return m, nil
}

// reap removes the muxers idle since before now-IdleTimeout.
func (s *Server) reap(now time.Time) {
	var idle []*entry
	s.mu.Lock()
	for id, e := range s.muxers {
		if now.Sub(e.m.lastUse()) >= s.cfg.IdleTimeout {
			idle = append(idle, e)
			delete(s.muxers, id)
			s.deps.Logger.Debug("live hls muxer idle, removed", "camera", id)
		}
	}
	s.mu.Unlock()
	for _, e := range idle {
		e.stop()
	}
}

// stopAll stops every muxer; later requests answer 503.
func (s *Server) stopAll() {
	s.mu.Lock()
	s.stopped = true
	all := s.muxers
	s.muxers = map[string]*entry{}
	s.mu.Unlock()
	for _, e := range all {
		e.stop()
	}
}

// stop detaches the muxer from its stream (outside the server lock: the
// stream calls the muxer's End) and releases the stream.
func (e *entry) stop() {
	e.st.RemoveReader(e.m)
	e.m.close()
	if e.release != nil {
		e.release()
	}
}

// running returns the number of running muxers (for tests and metrics).
func (s *Server) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.muxers)
}
