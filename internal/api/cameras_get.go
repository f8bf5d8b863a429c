package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// getCamera serves GET /api/v1/cameras/{id}; 404 outside the caller's
// sites.
func (a *API) getCamera(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.cameraFor(r.Context(), p, auth.PermView, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.cameraJSON(c))
	return nil
}
