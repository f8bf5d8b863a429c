package oidc

import (
	"slices"

	"github.com/vigil-video/vigil/internal/auth"
)

// rank orders roles for "the highest role wins".
func rank(r auth.Role) int {
	switch r {
	case auth.RoleAdmin:
		return 4
	case auth.RoleOperator:
		return 3
	case auth.RoleViewer:
		return 2
	case auth.RoleAuditor:
		return 1
	}
	return 0
}

// resolve maps a user's groups to one role and its sites (see the package
// doc). ok is false when no group is mapped. A nil sites slice means every
// site.
func resolve(mapping map[string]GroupRole, groups []string) (role auth.Role, sites []string, ok bool) {
	allSites := false
	for _, g := range groups {
		gr, found := mapping[g]
		if !found || rank(gr.Role) == 0 {
			continue
		}
		switch {
		case rank(gr.Role) > rank(role):
			role, sites, allSites = gr.Role, nil, len(gr.Sites) == 0
		case gr.Role != role:
			continue
		case len(gr.Sites) == 0:
			allSites = true
		}
		sites = append(sites, gr.Sites...)
		ok = true
	}
	if !ok || allSites {
		return role, nil, ok
	}
	slices.Sort(sites)
	return role, slices.Compact(sites), true
}
