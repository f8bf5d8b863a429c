package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

type createCameraRequest struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Site          string          `json:"site"`
	Source        string          `json:"source"`
	Transport     string          `json:"transport"`
	Record        *bool           `json:"record"`
	RetentionDays int             `json:"retention_days"`
	Analytics     json.RawMessage `json:"analytics"`
}

// createCamera serves POST /api/v1/cameras (admin) and starts the camera.
// name defaults to the id, record to true, transport to auto; without a
// source the camera waits for a push. 201; 409 when the id exists.
func (a *API) createCamera(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req createCameraRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	c, err := a.newCamera(r.Context(), req)
	if err != nil {
		return err
	}
	c, err = a.idx.CreateCamera(r.Context(), c)
	if errors.Is(err, index.ErrConflict) {
		return conflict("camera %s already exists", req.ID)
	}
	if err != nil {
		return err
	}
	a.rt.CameraChanged(context.WithoutCancel(r.Context()), c)
	a.log.Info("camera created", "camera", c.ID)
	writeJSON(w, http.StatusCreated, a.cameraJSON(c))
	return nil
}

// newCamera validates a create request into a camera.
func (a *API) newCamera(ctx context.Context, req createCameraRequest) (index.Camera, error) {
	if !validID(req.ID) {
		return index.Camera{}, badRequest("id: must be 1-64 of a-z 0-9 _ - starting with a letter or digit")
	}
	c := index.Camera{ID: req.ID, Name: req.Name, Site: req.Site, Record: true, RetentionDays: req.RetentionDays}
	if c.Name == "" {
		c.Name = c.ID
	}
	if req.Record != nil {
		c.Record = *req.Record
	}
	src, err := parseSource(req.Source)
	if err != nil {
		return c, err
	}
	if src != nil {
		c.Source = src.String()
	}
	if c.Transport, err = parseTransport(req.Transport); err != nil {
		return c, err
	}
	if c.Analytics, err = parseAnalytics(req.Analytics); err != nil {
		return c, err
	}
	return c, a.checkCamera(ctx, c)
}
