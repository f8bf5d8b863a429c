package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

type updateUserRequest struct {
	Password *string    `json:"password,omitempty"`
	Role     *auth.Role `json:"role,omitempty"`
	Sites    *[]string  `json:"sites,omitempty"`
}

// updateUser serves PATCH /api/v1/users/{name} (admin): fields present
// are changed. A new password ends the user's sessions.
func (a *API) updateUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	name, err := userName(r.PathValue("name"))
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Sites != nil {
		if err := a.checkSitesExist(r.Context(), *req.Sites); err != nil {
			return err
		}
	}
	u, err := a.auth.UpdateUser(r.Context(), name, auth.UserPatch{Password: req.Password, Role: req.Role, Sites: req.Sites})
	if err != nil {
		return userErr(err)
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}
