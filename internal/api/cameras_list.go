package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// listCameras serves GET /api/v1/cameras: the cameras of the caller's
// sites, with live status; ?site= filters by site.
func (a *API) listCameras(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	site := r.URL.Query().Get("site")
	if site != "" && !validID(site) {
		return badRequest("site: invalid id")
	}
	cams, err := a.idx.ListCameras(r.Context())
	if err != nil {
		return err
	}
	out := make([]cameraJSON, 0, len(cams))
	for _, c := range cams {
		if visible(p, c.Site) && (site == "" || c.Site == site) {
			out = append(out, a.cameraJSON(c))
		}
	}
	writeJSON(w, http.StatusOK, listBody("cameras", out, ""))
	return nil
}
