package auth

import (
	"regexp"
	"slices"
)

// Role is a user's role; see the contract's role table.
type Role string

// Roles.
const (
	// RoleAdmin may do everything, in every site.
	RoleAdmin Role = "admin"
	// RoleOperator may watch live and recorded video, export and see
	// events, in its sites.
	RoleOperator Role = "operator"
	// RoleViewer may watch live video and see events, in its sites.
	RoleViewer Role = "viewer"
	// RoleAuditor may read the audit trail, and sees no video.
	RoleAuditor Role = "auditor"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleViewer, RoleAuditor:
		return true
	}
	return false
}

// Permission is one kind of action that roles grant.
type Permission string

// Permissions.
const (
	// PermView: see sites and cameras (configuration without secrets, status).
	PermView Permission = "view"
	// PermLive: watch live video and snapshots.
	PermLive Permission = "live"
	// PermPlayback: list recordings and play them back.
	PermPlayback Permission = "playback"
	// PermExport: export clips.
	PermExport Permission = "export"
	// PermEvents: list events.
	PermEvents Permission = "events"
	// PermAudit: read and verify the audit trail.
	PermAudit Permission = "audit"
	// PermManage: create, change and delete sites, cameras and users.
	PermManage Permission = "manage"
	// PermMetrics: read Prometheus metrics (they name every camera).
	PermMetrics Permission = "metrics"
)

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleOperator:
		return p == PermView || p == PermLive || p == PermPlayback || p == PermExport || p == PermEvents
	case RoleViewer:
		return p == PermView || p == PermLive || p == PermEvents
	case RoleAuditor:
		return p == PermAudit
	}
	return false
}

// Permissions lists what the role grants, in a fixed order.
func (r Role) Permissions() []Permission {
	all := []Permission{PermView, PermLive, PermPlayback, PermExport, PermEvents, PermAudit, PermManage, PermMetrics}
	return slices.DeleteFunc(all, func(p Permission) bool { return !r.Can(p) })
}

// Principal is who a request acts as.
type Principal struct {
	Username string
	Role     Role
	// Sites the principal is limited to; empty means every site.
	Sites []string
	// Via says how the request authenticated.
	Via Method
	// Session identifies the login session (or bearer token) the request
	// came with: the SHA-256 of its secret, never the secret itself, so
	// media links can be bound to it. Empty for HTTP Basic.
	Session string
}

// Method is how a request authenticated.
type Method string

// Authentication methods.
const (
	ViaSession Method = "session"
	ViaToken   Method = "token"
	ViaBasic   Method = "basic"
)

// Can reports whether the principal's role grants p.
func (p Principal) Can(perm Permission) bool { return p.Role.Can(perm) }

// Scoped reports whether the principal is limited to some sites.
func (p Principal) Scoped() bool { return len(p.Sites) > 0 }

// CanSeeSite reports whether the principal may see things of the site. A
// principal without site scopes sees every site, including things with no
// site; a scoped one sees only its own sites.
func (p Principal) CanSeeSite(site string) bool {
	if !p.Scoped() {
		return true
	}
	return site != "" && slices.Contains(p.Sites, site)
}

// Decision is the answer of Authorize.
type Decision int

// Decisions, in the order Authorize checks them.
const (
	// Allowed: go ahead.
	Allowed Decision = iota
	// Unauthenticated: nobody is logged in.
	Unauthenticated
	// Forbidden: the role does not grant the permission.
	Forbidden
	// OutOfScope: the thing belongs to a site outside the principal's;
	// callers answer as if it did not exist.
	OutOfScope
)

// Authorize is THE authorization decision of every surface (the HTTP API
// and its media routes, RTSP re-streaming and publishing): the principal
// must be logged in, its role must grant perm ("" : any principal), and a
// thing of a site (inSite) must be in the principal's sites.
func Authorize(p Principal, perm Permission, inSite bool, site string) Decision {
	switch {
	case p.Username == "":
		return Unauthenticated
	case perm != "" && !p.Can(perm):
		return Forbidden
	case inSite && !p.CanSeeSite(site):
		return OutOfScope
	}
	return Allowed
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidUsername reports whether s is an acceptable user name: 1 to 64
// lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

var siteRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func validSites(sites []string) error {
	for _, s := range sites {
		if !siteRE.MatchString(s) {
			return inputErr("sites", "invalid site id")
		}
	}
	return nil
}
