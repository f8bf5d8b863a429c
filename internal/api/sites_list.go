package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// listSites serves GET /api/v1/sites: the sites the caller may see.
func (a *API) listSites(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	sites, err := a.idx.ListSites(r.Context())
	if err != nil {
		return err
	}
	out := make([]siteJSON, 0, len(sites))
	for _, s := range sites {
		if visible(p, s.ID) {
			out = append(out, toSiteJSON(s))
		}
	}
	writeJSON(w, http.StatusOK, listBody("sites", out, ""))
	return nil
}
