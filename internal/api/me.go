package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// me serves GET /api/v1/me: who the caller is and what it may do.
func (a *API) me(w http.ResponseWriter, _ *http.Request, p auth.Principal) error {
	writeJSON(w, http.StatusOK, toPrincipalJSON(p))
	return nil
}
