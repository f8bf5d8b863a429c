package api

import (
	"errors"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// deleteSite serves DELETE /api/v1/sites/{id} (admin). 204; 409 while
// cameras use the site.
func (a *API) deleteSite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := a.siteFor(r.Context(), p, auth.PermManage, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = a.idx.DeleteSite(r.Context(), s.ID)
	if errors.Is(err, index.ErrConflict) {
		return conflict("site %s still has cameras", s.ID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
