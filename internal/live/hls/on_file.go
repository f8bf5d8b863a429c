package hls

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-video/vigil/internal/api"
)

// serveFile answers GET /api/v1/cameras/{id}/live/{file}: init blocks,
// segments and parts, from memory, with Range support.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, req api.Request) {
	name := r.PathValue("file")
	ref, err := parseFile(name)
	if err != nil {
		api.WriteError(w, http.StatusNotFound, "no such live file")
		return
	}
	m, err := s.muxer(req.Camera.ID, false)
	if err != nil {
		s.unavailable(w, req.Camera.ID, err)
		return
	}
	if m == nil {
		api.WriteError(w, http.StatusNotFound, "live view not started: load live.m3u8 first")
		return
	}
	data := m.file(r, ref)
	if data == nil {
		api.WriteError(w, http.StatusNotFound, "no such live file (expired or not yet made)")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	// Names are reused only by a muxer started after an idle removal,
	// which takes IdleTimeout without requests: cache for less than that.
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(s.maxAge()))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (s *Server) maxAge() int {
	return int(min(s.cfg.IdleTimeout/2, time.Minute) / time.Second)
}

// file returns the bytes of ref, or nil. A request for the preload-hinted
// part waits (bounded) until it is made.
func (m *muxer) file(r *http.Request, ref fileRef) []byte {
	var data []byte
	found := func() (bool, bool) {
		data = m.fileLocked(ref)
		return data != nil, m.closed || !m.hintedLocked(ref)
	}
	m.wait(r.Context(), 3*m.cfg.PartDuration+time.Second, found)
	return data
}

// fileLocked returns the bytes of ref, or nil.
func (m *muxer) fileLocked(ref fileRef) []byte {
	switch ref.kind {
	case fileInit:
		if m.init != nil && uint64(m.init.id) == ref.a {
			return m.init.data
		}
		for _, s := range m.segs {
			if uint64(s.init.id) == ref.a {
				return s.init.data
			}
		}
	case fileSegment:
		if s := m.segmentLocked(ref.a); s != nil && s.complete {
			return s.data
		}
	case filePart:
		if s := m.segmentLocked(ref.a); s != nil && ref.b < uint64(len(s.parts)) {
			return s.parts[ref.b].data
		}
	}
	return nil
}

// hintedLocked reports whether ref is the part the playlist hints next
// (worth waiting for).
func (m *muxer) hintedLocked(ref fileRef) bool {
	if ref.kind != filePart || m.sess.video < 0 {
		return false
	}
	if m.cur != nil {
		return ref.a == m.cur.msn && ref.b == uint64(len(m.cur.parts))
	}
	return ref.a == m.nextMSN && ref.b == 0
}
