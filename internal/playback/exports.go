package playback

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// exportEntry is one running export.
type exportEntry struct {
	id       string
	camera   string
	user     string
	from, to time.Time
	total    int64
	started  time.Time
	sent     atomic.Int64
}

// registry holds the running exports, for progress reports.
type registry struct {
	mu      sync.Mutex
	running map[string]*exportEntry
}

func newRegistry() *registry { return &registry{running: map[string]*exportEntry{}} }

func (g *registry) add(e *exportEntry) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	e.id = hex.EncodeToString(b[:])
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running[e.id] = e
}

func (g *registry) remove(e *exportEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.running, e.id)
}

// list returns the running exports of user (all of them when all is
// set), oldest first.
func (g *registry) list(user string, all bool) []exportJSON {
	g.mu.Lock()
	out := make([]exportJSON, 0, len(g.running))
	for _, e := range g.running {
		if all || e.user == user {
			out = append(out, e.json())
		}
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b exportJSON) int {
		if c := a.started.Compare(b.started); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// exportJSON is a running export as GET /api/v1/exports lists it.
type exportJSON struct {
	ID         string `json:"id"`
	Camera     string `json:"camera"`
	User       string `json:"user"`
	From       string `json:"from"`
	To         string `json:"to"`
	BytesTotal int64  `json:"bytes_total"`
	BytesSent  int64  `json:"bytes_sent"`
	Started    string `json:"started"`

	started time.Time
}

func (e *exportEntry) json() exportJSON {
	return exportJSON{ID: e.id, Camera: e.camera, User: e.user, From: fmtTime(e.from), To: fmtTime(e.to),
		BytesTotal: e.total, BytesSent: e.sent.Load(), Started: fmtTime(e.started), started: e.started}
}

// listExports serves GET /api/v1/exports: the caller's running exports
// (every user's for an admin) with their progress, as
// {"exports": [...], "next": ""}. An export leaves the list when its
// response ends.
func (s *Service) listExports(w http.ResponseWriter, _ *http.Request, req api.Request) {
	body := struct {
		Exports []exportJSON `json:"exports"`
		Next    string       `json:"next"`
	}{Exports: s.exports.list(req.Principal.Username, req.Principal.Role == auth.RoleAdmin)}
	b, err := json.Marshal(body)
	if err != nil {
		api.WriteError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// mediaWriter wraps the ResponseWriter that http.ServeContent answers
// on: it counts the body bytes (when sent is set), and turns ServeContent's
// plain-text 416 into the API's JSON error (keeping its Content-Range).
type mediaWriter struct {
	http.ResponseWriter
	sent    *atomic.Int64
	swallow bool
}

// WriteHeader implements http.ResponseWriter.
func (m *mediaWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		m.swallow = true
		api.WriteError(m.ResponseWriter, code, "range not satisfiable (Content-Range has the size)")
		return
	}
	m.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (m *mediaWriter) Write(p []byte) (int, error) {
	if m.swallow {
		return len(p), nil
	}
	n, err := m.ResponseWriter.Write(p)
	if m.sent != nil {
		m.sent.Add(int64(n))
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *mediaWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
