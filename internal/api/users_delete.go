package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// deleteUser serves DELETE /api/v1/users/{name} (admin), with the user's
// sessions and tokens. 204; 409 for the last admin.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	name, err := userName(r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.auth.DeleteUser(r.Context(), name); err != nil {
		return userErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
