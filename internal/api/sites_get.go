package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// getSite serves GET /api/v1/sites/{id}; 404 outside the caller's sites.
func (a *API) getSite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := a.siteFor(r.Context(), p, auth.PermView, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSiteJSON(s))
	return nil
}
