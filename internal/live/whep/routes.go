package whep

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// Paths of the WHEP endpoint and of one session (the Location of a POST).
const (
	pathWHEP    = "/api/v1/cameras/{id}/whep"
	pathSession = "/api/v1/cameras/{id}/whep/{session}"
)

// Routes returns the WHEP routes, served through the API (auth, camera
// scoping, logging, metrics). Trickle ICE (PATCH) is not supported: the
// answer carries every candidate, and PATCH answers 405.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		{Method: http.MethodPost, Path: pathWHEP, Perm: auth.PermLive, Camera: true, Handler: s.handlePost},
		{Method: http.MethodDelete, Path: pathSession, Perm: auth.PermLive, Camera: true, Handler: s.handleDelete},
		{Method: http.MethodPatch, Path: pathSession, Perm: auth.PermLive, Camera: true, Handler: handlePatch},
	}
}

// handlePatch refuses trickle ICE.
func handlePatch(w http.ResponseWriter, _ *http.Request, _ api.Request) {
	w.Header().Set("Allow", "DELETE")
	api.WriteError(w, http.StatusMethodNotAllowed, "trickle ICE is not supported: the answer holds every candidate")
}

// handleDelete ends a session (200 once it has ended, 404 when unknown).
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, req api.Request) {
	id := r.PathValue("session")
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	// Another user's session does not exist for the caller (ids are
	// random, but a session is ended only by whoever opened it, or an
	// admin).
	if ss == nil || ss.camera != req.Camera.ID || (ss.owner != req.Principal.Username && req.Principal.Role != auth.RoleAdmin) {
		api.WriteError(w, http.StatusNotFound, "session not found")
		return
	}
	ss.deleted.Store(true)
	ss.cancel()
	select {
	case <-ss.done:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusOK)
}
