package api

import (
	"context"
	"errors"
	"unicode"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// maxNameLen caps names and regions.
const maxNameLen = 200

// siteJSON describes a site.
type siteJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func toSiteJSON(s index.Site) siteJSON {
	return siteJSON{ID: s.ID, Name: s.Name, Region: s.Region,
		CreatedAt: fmtTime(s.CreatedAt), UpdatedAt: fmtTime(s.UpdatedAt)}
}

// checkText validates a free-text field: at most maxNameLen bytes, no
// control characters.
func checkText(field, s string) error {
	if len(s) > maxNameLen {
		return badRequest("%s: longer than %d bytes", field, maxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return badRequest("%s: must not contain control characters", field)
		}
	}
	return nil
}

// siteFor loads the {id} site for p: 400 for a malformed id, 404 when it
// does not exist or is outside p's sites.
func (a *API) siteFor(ctx context.Context, p auth.Principal, perm auth.Permission, id string) (index.Site, error) {
	if !validID(id) {
		return index.Site{}, badRequest("invalid site id")
	}
	if err := authorize(p, perm, inSite(id, "site")); err != nil {
		return index.Site{}, err
	}
	s, err := a.idx.GetSite(ctx, id)
	if errors.Is(err, index.ErrNotFound) {
		return index.Site{}, notFound("site")
	}
	return s, err
}
