package api

import (
	"errors"
	"net/http"
	"regexp"

	"github.com/vigil-video/vigil/internal/auth"
)

var tokenIDRE = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// deleteToken serves DELETE /api/v1/tokens/{id}: revokes one of the
// caller's tokens. 204; 404 for ids that are not the caller's.
func (a *API) deleteToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id := r.PathValue("id")
	if !tokenIDRE.MatchString(id) {
		return badRequest("invalid token id")
	}
	err := a.auth.RevokeToken(r.Context(), p.Username, id)
	if errors.Is(err, auth.ErrNotFound) {
		return notFound("token")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
