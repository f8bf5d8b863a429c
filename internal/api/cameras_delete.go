package api

import (
	"context"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// deleteCamera serves DELETE /api/v1/cameras/{id} (admin) and stops the
// camera; its recordings stay until retention removes them. 204.
func (a *API) deleteCamera(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.cameraFor(r.Context(), p, auth.PermManage, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.idx.DeleteCamera(r.Context(), c.ID); err != nil {
		return err
	}
	a.rt.CameraRemoved(context.WithoutCancel(r.Context()), c.ID)
	a.log.Info("camera deleted", "camera", c.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
