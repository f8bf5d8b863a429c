package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// listUsers serves GET /api/v1/users (admin).
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	users, err := a.auth.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, listBody("users", out, ""))
	return nil
}
