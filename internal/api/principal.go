package api

import "github.com/vigil-video/vigil/internal/auth"

// principalJSON is how login and /me describe the caller.
type principalJSON struct {
	Username    string            `json:"username"`
	Role        auth.Role         `json:"role"`
	Sites       []string          `json:"sites"`
	Permissions []auth.Permission `json:"permissions"`
}

func toPrincipalJSON(p auth.Principal) principalJSON {
	sites := p.Sites
	if sites == nil {
		sites = []string{}
	}
	return principalJSON{Username: p.Username, Role: p.Role, Sites: sites, Permissions: p.Role.Permissions()}
}
