package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

type createUserRequest struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Role     auth.Role `json:"role"`
	Sites    []string  `json:"sites,omitempty"`
}

// createUser serves POST /api/v1/users (admin). 201.
func (a *API) createUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req createUserRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := a.checkSitesExist(r.Context(), req.Sites); err != nil {
		return err
	}
	u, err := a.auth.CreateUser(r.Context(), auth.NewUser{
		Username: req.Username, Password: req.Password, Role: req.Role, Sites: req.Sites,
	})
	if err != nil {
		return userErr(err)
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
	return nil
}
