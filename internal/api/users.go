package api

import (
	"context"
	"errors"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// userJSON describes a user; the password hash never leaves the server.
type userJSON struct {
	Username  string    `json:"username"`
	Role      auth.Role `json:"role"`
	Sites     []string  `json:"sites"`
	CreatedAt string    `json:"created_at"`
	UpdatedAt string    `json:"updated_at"`
}

func toUserJSON(u auth.User) userJSON {
	sites := u.Sites
	if sites == nil {
		sites = []string{}
	}
	return userJSON{Username: u.Username, Role: u.Role, Sites: sites,
		CreatedAt: fmtTime(u.CreatedAt), UpdatedAt: fmtTime(u.UpdatedAt)}
}

// userName reads and checks the {name} path value.
func userName(name string) (string, error) {
	if !auth.ValidUsername(name) {
		return "", badRequest("invalid user name")
	}
	return name, nil
}

// checkSitesExist makes sure every site a user is scoped to exists.
func (a *API) checkSitesExist(ctx context.Context, sites []string) error {
	for _, s := range sites {
		if !validID(s) {
			return badRequest("sites: invalid site id")
		}
		_, err := a.idx.GetSite(ctx, s)
		if errors.Is(err, index.ErrNotFound) {
			return badRequest("sites: unknown site %s", s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// userErr maps a user-store miss to a 404 naming the user.
func userErr(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return notFound("user")
	}
	if errors.Is(err, auth.ErrConflict) {
		return conflict("user already exists")
	}
	return err
}
