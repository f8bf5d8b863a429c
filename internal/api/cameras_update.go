package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

type updateCameraRequest struct {
	ID            *string         `json:"id,omitempty"` // may be sent back unchanged
	Name          *string         `json:"name,omitempty"`
	Site          *string         `json:"site,omitempty"`
	Source        *string         `json:"source,omitempty"`
	Transport     *string         `json:"transport,omitempty"`
	Record        *bool           `json:"record,omitempty"`
	RetentionDays *int            `json:"retention_days,omitempty"`
	Analytics     json.RawMessage `json:"analytics,omitempty"`
}

// updateCamera serves PATCH /api/v1/cameras/{id} (admin): fields present
// are changed (analytics is replaced as a whole), and the camera restarts
// when its configuration changed. For source credentials see mergeSource:
// a source without userinfo on the same host and port keeps the stored
// credentials.
func (a *API) updateCamera(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	old, err := a.cameraFor(r.Context(), p, auth.PermManage, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req updateCameraRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	c, err := applyCameraPatch(old, req)
	if err != nil {
		return err
	}
	if err := a.checkCamera(r.Context(), c); err != nil {
		return err
	}
	if sameConfig(old, c) {
		writeJSON(w, http.StatusOK, a.cameraJSON(old))
		return nil
	}
	if c, err = a.idx.UpdateCamera(r.Context(), c); err != nil {
		return err
	}
	a.rt.CameraChanged(context.WithoutCancel(r.Context()), c)
	a.log.Info("camera updated", "camera", c.ID)
	writeJSON(w, http.StatusOK, a.cameraJSON(c))
	return nil
}

// applyCameraPatch returns c with the request's fields applied.
func applyCameraPatch(c index.Camera, req updateCameraRequest) (index.Camera, error) {
	var err error
	if req.ID != nil && *req.ID != c.ID {
		return c, badRequest("id: cannot change")
	}
	setIf(&c.Name, req.Name)
	setIf(&c.Site, req.Site)
	setIf(&c.Record, req.Record)
	setIf(&c.RetentionDays, req.RetentionDays)
	if req.Source != nil {
		if c.Source, err = mergeSource(c.Source, *req.Source); err != nil {
			return c, err
		}
	}
	if req.Transport != nil {
		if c.Transport, err = parseTransport(*req.Transport); err != nil {
			return c, err
		}
	}
	if req.Analytics != nil {
		if c.Analytics, err = parseAnalytics(req.Analytics); err != nil {
			return c, err
		}
	}
	return c, nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
