package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// getUser serves GET /api/v1/users/{name} (admin).
func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	name, err := userName(r.PathValue("name"))
	if err != nil {
		return err
	}
	u, err := a.auth.GetUser(r.Context(), name)
	if err != nil {
		return userErr(err)
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}
