package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
)

// handlerFunc handles an authorized request. A returned error is answered
// by writeError; a handler that returns nil has answered.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// route is one entry of the route table.
type route struct {
	method string
	path   string
	// public routes need no credentials; the others need a principal
	// whose role grants perm ("" : any authenticated principal).
	public bool
	perm   auth.Permission
	h      handlerFunc
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes is the table of every route the API serves; openapi.yaml must
// describe each (see TestOpenAPICoversRoutes).
// Changes (POST, PATCH, DELETE) and searches are audited when the API has
// an Auditor, and then it also serves the audit trail.
func (a *API) routes() []route {
	const v1 = "/api/v1"
	table := []route{
		{method: "GET", path: "/healthz", public: true, h: a.healthz},
		{method: "GET", path: "/readyz", public: true, h: a.readyz},
		{method: "GET", path: "/metrics", perm: auth.PermMetrics, h: a.metricsHandler},

		{method: "POST", path: v1 + "/login", public: true, h: a.login},
		{method: "POST", path: v1 + "/logout", h: a.logout},
		{method: "GET", path: v1 + "/me", h: a.me},

		{method: "GET", path: v1 + "/tokens", h: a.listTokens},
		{method: "POST", path: v1 + "/tokens", h: a.changed(a.createToken)},
		{method: "DELETE", path: v1 + "/tokens/{id}", h: a.changed(a.deleteToken)},

		{method: "GET", path: v1 + "/users", perm: auth.PermManage, h: a.listUsers},
		{method: "POST", path: v1 + "/users", perm: auth.PermManage, h: a.changed(a.createUser)},
		{method: "GET", path: v1 + "/users/{name}", perm: auth.PermManage, h: a.getUser},
		{method: "PATCH", path: v1 + "/users/{name}", perm: auth.PermManage, h: a.changed(a.updateUser)},
		{method: "DELETE", path: v1 + "/users/{name}", perm: auth.PermManage, h: a.changed(a.deleteUser)},

		{method: "GET", path: v1 + "/sites", perm: auth.PermView, h: a.listSites},
		{method: "POST", path: v1 + "/sites", perm: auth.PermManage, h: a.changed(a.createSite)},
		{method: "GET", path: v1 + "/sites/{id}", perm: auth.PermView, h: a.getSite},
		{method: "PATCH", path: v1 + "/sites/{id}", perm: auth.PermManage, h: a.changed(a.updateSite)},
		{method: "DELETE", path: v1 + "/sites/{id}", perm: auth.PermManage, h: a.changed(a.deleteSite)},

		{method: "GET", path: v1 + "/cameras", perm: auth.PermView, h: a.listCameras},
		{method: "POST", path: v1 + "/cameras", perm: auth.PermManage, h: a.changed(a.createCamera)},
		{method: "GET", path: v1 + "/cameras/{id}", perm: auth.PermView, h: a.getCamera},
		{method: "PATCH", path: v1 + "/cameras/{id}", perm: auth.PermManage, h: a.changed(a.updateCamera)},
		{method: "DELETE", path: v1 + "/cameras/{id}", perm: auth.PermManage, h: a.changed(a.deleteCamera)},
		{method: "GET", path: v1 + "/cameras/{id}/recordings", perm: auth.PermPlayback, h: a.audited(a.recordings, a.searchRecordings)},

		{method: "GET", path: v1 + "/events", perm: auth.PermEvents, h: a.audited(a.listEvents, a.searchEvents)},
	}
	if a.audit != nil {
		table = append(table,
			route{method: "GET", path: v1 + "/audit", perm: auth.PermAudit, h: a.listAudit},
			route{method: "GET", path: v1 + "/audit/verify", perm: auth.PermAudit, h: a.verifyAudit},
		)
	}
	return table
}
