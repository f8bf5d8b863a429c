package api

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/vigil-video/vigil/internal/auth"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "vigil_session"

// target is what a request acts on, for authorize: anything (no site
// check) or a thing of one site (possibly none), named for the 404.
type target struct {
	scoped bool
	site   string
	what   string
}

// anything is the target of route-level checks and of lists (which filter
// their items with visible).
func anything() target { return target{} }

// inSite is a thing of the given site ("" for none), called what in 404s.
func inSite(site, what string) target { return target{scoped: true, site: site, what: what} }

// authorize answers auth.Authorize, THE authorization decision of every
// surface, for every route and every object: missing permission is 403; a
// target outside the principal's sites is 404, as if it did not exist.
func authorize(p auth.Principal, perm auth.Permission, t target) error {
	switch auth.Authorize(p, perm, t.scoped, t.site) {
	case auth.Unauthenticated:
		return errUnauthorized
	case auth.Forbidden:
		return forbidden("your role (%s) does not allow this", p.Role)
	case auth.OutOfScope:
		return notFound(t.what)
	}
	return nil
}

// visible reports whether a thing of site may appear in p's lists.
func visible(p auth.Principal, site string) bool {
	return authorize(p, "", inSite(site, "")) == nil
}

// wrap turns a route into a handler: cross-origin check, authentication,
// route-level authorization, then the route's handler; errors are
// answered as JSON.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.serveRoute(w, r, rt); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) serveRoute(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := a.crossOri.Check(r); err != nil {
		return forbidden("cross-origin request refused")
	}
	if rt.public {
		return rt.h(w, r, auth.Principal{})
	}
	p, err := a.authenticate(r)
	if err != nil {
		return err
	}
	setLogUser(r.Context(), p.Username)
	if err := authorize(p, rt.perm, anything()); err != nil {
		return err
	}
	return rt.h(w, r, p)
}

// authenticate finds the principal of a request from its credentials and
// enforces the media link (?access=) it carries, if any: a link is only
// accepted with the credentials of the session it was issued to (see
// links.go).
func (a *API) authenticate(r *http.Request) (auth.Principal, error) {
	p, err := a.credentials(r)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := a.checkLink(r, p); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// credentials finds the principal of a request: the Authorization header
// (Bearer token or Basic) when present, else the session cookie.
func (a *API) credentials(r *http.Request) (auth.Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			return a.auth.AuthenticateToken(ctx, strings.TrimSpace(cred))
		case "basic":
			user, pass, ok := r.BasicAuth()
			if !ok {
				return auth.Principal{}, errUnauthorized
			}
			return a.auth.AuthenticateBasic(ctx, user, pass, RemoteIP(r))
		}
		return auth.Principal{}, errUnauthorized
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return a.auth.AuthenticateSession(ctx, c.Value)
	}
	return auth.Principal{}, errUnauthorized
}

// RemoteIP is the caller's address without the port, as the audit trail
// and the login limits record it.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logInfo carries what the request log line needs from inner handlers.
type logInfo struct{ user string }

type logInfoKey struct{}

func setLogUser(ctx context.Context, user string) {
	if li, ok := ctx.Value(logInfoKey{}).(*logInfo); ok {
		li.user = user
	}
}
