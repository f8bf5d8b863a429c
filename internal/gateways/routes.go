package gateways

import (
	"errors"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
)

// PermSee is what a role must grant to list and read gateways, within its
// sites: a gateway forwards a site's video, so the roles that see a site's
// recordings (admin, operator) see its gateways; viewers and auditors do
// not.
const PermSee = auth.PermPlayback

// gatewayJSON is a gateway in answers: status, never a secret. Times are
// RFC 3339 UTC, "" when not happened yet.
type gatewayJSON struct {
	ID           string `json:"id"`
	Site         string `json:"site"`
	CreatedAt    string `json:"created_at"`
	EnrolledAt   string `json:"enrolled_at"`
	LastSeen     string `json:"last_seen"`
	Revoked      bool   `json:"revoked"`
	TokenExpires string `json:"token_expires"`
	// Status is the gateway's uplink status (see statusJSON).
	Status statusJSON `json:"status"`
}

func toJSON(g Gateway) gatewayJSON {
	return gatewayJSON{ID: g.ID, Site: g.Site, CreatedAt: fmtTime(g.CreatedAt),
		EnrolledAt: fmtTime(g.EnrolledAt), LastSeen: fmtTime(g.LastSeen), Revoked: g.Revoked,
		TokenExpires: fmtTime(g.TokenExpires)}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Routes are the registry's authenticated API routes:
//
//	POST   /api/v1/gateways       (manage) create, answer holds the enrolment token
//	GET    /api/v1/gateways       (PermSee) list, within the caller's sites
//	GET    /api/v1/gateways/{id}  (PermSee) one; 404 outside the caller's sites
//	DELETE /api/v1/gateways/{id}  (manage) revoke
//	POST   /api/v1/gateways/{id}/token (manage) a new enrolment token, before enrolment
//
// POST /api/v1/gateways/enroll is not among them: it takes no user login
// (see Enroll).
func (r *Registry) Routes() []api.Route {
	const p = "/api/v1/gateways"
	return []api.Route{
		{Method: "POST", Path: p, Perm: auth.PermManage, Handler: r.create},
		{Method: "GET", Path: p, Perm: PermSee, Handler: r.list},
		{Method: "GET", Path: p + "/{id}", Perm: PermSee, Handler: r.get},
		{Method: "DELETE", Path: p + "/{id}", Perm: auth.PermManage, Handler: r.revoke},
		{Method: "POST", Path: p + "/{id}/token", Perm: auth.PermManage, Handler: r.newToken},
	}
}

type createRequest struct {
	ID   string `json:"id"`
	Site string `json:"site"`
}

type createAnswer struct {
	gatewayJSON
	// Token is the one-time enrolment token, shown only here.
	Token string `json:"token"`
}

func (r *Registry) create(w http.ResponseWriter, req *http.Request, ar api.Request) {
	var body createRequest
	if !decodeBody(w, req, &body) {
		return
	}
	g, token, err := r.Create(req.Context(), body.ID, body.Site)
	switch {
	case errors.Is(err, ErrInvalidID):
		api.WriteError(w, http.StatusBadRequest, "id: 1 to 64 of a-z, 0-9, '_', '-' (not \"enroll\")")
	case errors.Is(err, ErrUnknownSite):
		api.WriteError(w, http.StatusNotFound, "site not found")
	case errors.Is(err, ErrExists):
		api.WriteError(w, http.StatusConflict, "gateway already exists")
	case err != nil:
		r.internal(w, "create gateway", err)
	default:
		r.record(req, ar.Principal, g.ID, g.Site, nil)
		writeJSON(w, http.StatusCreated, createAnswer{gatewayJSON: toJSON(g), Token: token})
	}
}

func (r *Registry) list(w http.ResponseWriter, req *http.Request, ar api.Request) {
	all, err := r.List(req.Context())
	if err != nil {
		r.internal(w, "list gateways", err)
		return
	}
	site := req.URL.Query().Get("site")
	out := []gatewayJSON{}
	for _, g := range all {
		if auth.Authorize(ar.Principal, PermSee, true, g.Site) == auth.Allowed && (site == "" || site == g.Site) {
			out = append(out, r.withStatus(g))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateways": out, "next": ""})
}

func (r *Registry) get(w http.ResponseWriter, req *http.Request, ar api.Request) {
	g, ok := r.visible(w, req, ar)
	if ok {
		writeJSON(w, http.StatusOK, r.withStatus(g))
	}
}

// withStatus is g in answers, with its uplink status.
func (r *Registry) withStatus(g Gateway) gatewayJSON {
	j := toJSON(g)
	j.Status = r.view(g.ID).statusJSON
	return j
}

func (r *Registry) revoke(w http.ResponseWriter, req *http.Request, ar api.Request) {
	g, ok := r.visible(w, req, ar)
	if !ok {
		return
	}
	if err := r.Revoke(req.Context(), g.ID); err != nil && !errors.Is(err, ErrNotFound) {
		r.internal(w, "revoke gateway", err)
		return
	}
	r.record(req, ar.Principal, g.ID, g.Site, map[string]any{"revoked": true})
	w.WriteHeader(http.StatusNoContent)
}

func (r *Registry) newToken(w http.ResponseWriter, req *http.Request, ar api.Request) {
	g, ok := r.visible(w, req, ar)
	if !ok {
		return
	}
	g, token, err := r.NewToken(req.Context(), g.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, "gateway not found")
	case errors.Is(err, ErrEnrolled):
		api.WriteError(w, http.StatusConflict, "gateway already enrolled or revoked; revoke it and create a new one")
	case err != nil:
		r.internal(w, "new enrolment token", err)
	default:
		r.record(req, ar.Principal, g.ID, g.Site, map[string]any{"new_token": true})
		writeJSON(w, http.StatusCreated, createAnswer{gatewayJSON: toJSON(g), Token: token})
	}
}

// visible loads the {id} gateway if the caller may see it; otherwise it
// answers 400 or 404 (the same 404 for "absent" and "outside your sites").
func (r *Registry) visible(w http.ResponseWriter, req *http.Request, ar api.Request) (Gateway, bool) {
	id := req.PathValue("id")
	if !ValidID(id) {
		api.WriteError(w, http.StatusBadRequest, "invalid gateway id")
		return Gateway{}, false
	}
	g, err := r.Get(req.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && auth.Authorize(ar.Principal, "", true, g.Site) != auth.Allowed) {
		api.WriteError(w, http.StatusNotFound, "gateway not found")
		return Gateway{}, false
	}
	if err != nil {
		r.internal(w, "get gateway", err)
		return Gateway{}, false
	}
	return g, true
}

func (r *Registry) internal(w http.ResponseWriter, op string, err error) {
	r.log.Error(op, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "internal error")
}
