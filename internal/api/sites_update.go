package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

type updateSiteRequest struct {
	ID     *string `json:"id,omitempty"` // may be sent back unchanged
	Name   *string `json:"name,omitempty"`
	Region *string `json:"region,omitempty"`
}

// updateSite serves PATCH /api/v1/sites/{id} (admin): fields present are
// changed; the id cannot change.
func (a *API) updateSite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := a.siteFor(r.Context(), p, auth.PermManage, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req updateSiteRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.ID != nil && *req.ID != s.ID {
		return badRequest("id: cannot change")
	}
	if req.Name != nil {
		s.Name = *req.Name
	}
	if req.Region != nil {
		s.Region = *req.Region
	}
	if s.Name == "" {
		return badRequest("name: must not be empty")
	}
	if err := checkText("name", s.Name); err != nil {
		return err
	}
	if err := checkText("region", s.Region); err != nil {
		return err
	}
	if s, err = a.idx.UpdateSite(r.Context(), s); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSiteJSON(s))
	return nil
}
