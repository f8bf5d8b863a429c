package api

import (
	"errors"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

type createSiteRequest struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

// createSite serves POST /api/v1/sites (admin). The name defaults to the
// id. 201; 409 when the id exists.
func (a *API) createSite(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req createSiteRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if !validID(req.ID) {
		return badRequest("id: must be 1-64 of a-z 0-9 _ - starting with a letter or digit")
	}
	if req.Name == "" {
		req.Name = req.ID
	}
	if err := checkText("name", req.Name); err != nil {
		return err
	}
	if err := checkText("region", req.Region); err != nil {
		return err
	}
	s, err := a.idx.CreateSite(r.Context(), index.Site{ID: req.ID, Name: req.Name, Region: req.Region})
	if errors.Is(err, index.ErrConflict) {
		return conflict("site %s already exists", req.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSiteJSON(s))
	return nil
}
