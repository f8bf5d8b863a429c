package api

import (
	"fmt"
	"net/http"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// Route is a route another package serves through the API (live HLS,
// playback, snapshots, exports...), so that it gets the same
// authentication, authorization, logging, metrics and JSON errors.
type Route struct {
	// Method and Path form the ServeMux pattern, e.g. "GET" and
	// "/api/v1/cameras/{id}/live.m3u8".
	Method string
	Path   string
	// Perm is what the caller's role must grant ("" : any principal).
	Perm auth.Permission
	// Camera makes the API load the {id} camera before calling Handler:
	// 400 for a malformed id, 404 when it does not exist or is outside the
	// caller's sites.
	Camera bool
	// Handler answers the request.
	Handler func(w http.ResponseWriter, r *http.Request, req Request)
	// Audit is the audit action recorded when Handler answers 2xx ("" :
	// none): audit.ActionPlayback, ActionExport, ActionSnapshot,
	// ActionLiveStart, ActionLiveStop, or AuditLive for a live HLS
	// playlist. Leave it empty on routes a player requests over and over
	// (segments, parts): one view is one record.
	Audit string
	// AuditQuery copies ?from=, ?to= (or ?at=) and ?reason= into the
	// audit entry.
	AuditQuery bool
}

// Request is what the API passes to a Route's handler.
type Request struct {
	// Principal is the authenticated caller.
	Principal auth.Principal
	// Camera is the {id} camera when Route.Camera is set (with its
	// credentials: never echo Camera.Source).
	Camera index.Camera
}

// extraRoute adapts a Route to the route table.
func (a *API) extraRoute(x Route) (route, error) {
	if x.Method == "" || x.Path == "" || x.Handler == nil {
		return route{}, fmt.Errorf("api: route %q %q: method, path and handler are required", x.Method, x.Path)
	}
	h := func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		req := Request{Principal: p}
		if x.Camera {
			c, err := a.cameraFor(r.Context(), p, x.Perm, r.PathValue("id"))
			if err != nil {
				return err
			}
			req.Camera = c
		}
		a.auditExtra(x, w, r, req)
		return nil
	}
	return route{method: x.Method, path: x.Path, perm: x.Perm, h: h}, nil
}

// handle registers a route, turning the mux's panic on a conflicting
// pattern into an error.
func (a *API) handle(rt route) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("api: route %s: %v", rt.pattern(), v)
		}
	}()
	a.mux.Handle(rt.pattern(), a.wrap(rt))
	return nil
}

// WriteError answers a JSON error {"error": msg, "code": ...} with the
// code that fits status, for Route handlers. msg must not hold secrets.
func WriteError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: codeFor(status)})
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusMethodNotAllowed:
		return codeMethodNotAllowed
	case http.StatusConflict:
		return codeConflict
	case http.StatusRequestEntityTooLarge:
		return codeTooLarge
	case http.StatusUnsupportedMediaType:
		return codeUnsupportedType
	case http.StatusTooManyRequests:
		return codeTooManyRequests
	case http.StatusRequestedRangeNotSatisfiable:
		return codeRangeNotSatisfy
	case http.StatusServiceUnavailable:
		return codeUnavailable
	}
	if status >= 500 {
		return codeInternal
	}
	return codeBadRequest
}
