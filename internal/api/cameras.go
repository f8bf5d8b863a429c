package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// Camera field limits.
const (
	maxRetentionDays = 36500
	maxAnalytics     = 64 << 10
	transportAuto    = "auto"
)

// cameraJSON describes a camera. Source never carries credentials.
type cameraJSON struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Site          string          `json:"site"`
	Source        string          `json:"source"`
	Transport     string          `json:"transport"`
	Record        bool            `json:"record"`
	RetentionDays int             `json:"retention_days"`
	Analytics     json.RawMessage `json:"analytics"`
	Status        CameraStatus    `json:"status"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
}

// cameraJSON builds the answer for c with its live status, credentials
// stripped from the source and redacted from the status error.
func (a *API) cameraJSON(c index.Camera) cameraJSON {
	st := a.rt.CameraStatus(c.ID)
	st.Error = redactSource(st.Error, c.Source)
	tr := c.Transport
	if tr == "" {
		tr = transportAuto
	}
	return cameraJSON{
		ID: c.ID, Name: c.Name, Site: c.Site, Source: stripSource(c.Source), Transport: tr,
		Record: c.Record, RetentionDays: c.RetentionDays, Analytics: rawObject(c.Analytics),
		Status: st, CreatedAt: fmtTime(c.CreatedAt), UpdatedAt: fmtTime(c.UpdatedAt),
	}
}

// cameraFor loads the {id} camera for p: 400 for a malformed id, 404 when
// it does not exist or is outside p's sites, 403 without perm.
func (a *API) cameraFor(ctx context.Context, p auth.Principal, perm auth.Permission, id string) (index.Camera, error) {
	if !validID(id) {
		return index.Camera{}, badRequest("invalid camera id")
	}
	c, err := a.idx.GetCamera(ctx, id)
	if errors.Is(err, index.ErrNotFound) {
		return index.Camera{}, notFound("camera")
	}
	if err != nil {
		return index.Camera{}, err
	}
	if err := authorize(p, perm, inSite(c.Site, "camera")); err != nil {
		return index.Camera{}, err
	}
	return c, nil
}

// parseTransport maps the API's transport (tcp, udp, auto or empty) to
// the index's ("" is automatic).
func parseTransport(s string) (string, error) {
	switch s {
	case "tcp", "udp":
		return s, nil
	case "", transportAuto:
		return "", nil
	}
	return "", badRequest("transport: must be tcp, udp or auto")
}

// parseAnalytics checks and compacts analytics settings: a JSON object of
// at most 64 KiB; absent or null means {}.
func parseAnalytics(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	if len(raw) > maxAnalytics || raw[0] != '{' {
		return "", badRequest("analytics: must be a JSON object of at most %d bytes", maxAnalytics)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", badRequest("analytics: invalid JSON")
	}
	return buf.String(), nil
}

// checkCamera validates the fields of a camera about to be stored (the
// source is checked when parsed).
func (a *API) checkCamera(ctx context.Context, c index.Camera) error {
	if c.Name == "" {
		return badRequest("name: must not be empty")
	}
	if err := checkText("name", c.Name); err != nil {
		return err
	}
	if c.RetentionDays < 0 || c.RetentionDays > maxRetentionDays {
		return badRequest("retention_days: must be 0 (hub default) to %d", maxRetentionDays)
	}
	if c.Site == "" {
		return nil
	}
	if !validID(c.Site) {
		return badRequest("site: invalid site id")
	}
	_, err := a.idx.GetSite(ctx, c.Site)
	if errors.Is(err, index.ErrNotFound) {
		return badRequest("site: unknown site %s", c.Site)
	}
	return err
}

// sameConfig reports whether two versions of a camera would run alike.
func sameConfig(a, b index.Camera) bool {
	a.CreatedAt, a.UpdatedAt = time.Time{}, time.Time{}
	b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}
