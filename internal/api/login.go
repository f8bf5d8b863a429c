package api

import (
	"net/http"
	"strings"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login serves POST /api/v1/login: checks the password (rate limited per
// username and address), sets the session cookie and describes the user.
func (a *API) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req loginRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return badRequest("username and password are required")
	}
	p, ses, err := a.auth.Login(r.Context(), req.Username, req.Password, RemoteIP(r))
	if err != nil {
		a.recordLoginFailed(r, req.Username, err)
		return err
	}
	setLogUser(r.Context(), p.Username)
	a.record(r, entry(r, p, audit.ActionLogin))
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    ses.Token,
		Path:     "/",
		Expires:  ses.ExpiresAt,
		MaxAge:   int(ses.ExpiresAt.Sub(a.now()).Seconds()),
		HttpOnly: true,
		Secure:   a.cfg.SecureCookies || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	writeJSON(w, http.StatusOK, toPrincipalJSON(p))
	return nil
}

// maxAuditUsername caps the user name a failed login records as given.
const maxAuditUsername = 128

// recordLoginFailed audits a refused login with the user name as given
// (clipped) and the status it was answered with; never the password.
func (a *API) recordLoginFailed(r *http.Request, username string, err error) {
	he, _ := toHTTPError(err)
	if len(username) > maxAuditUsername {
		username = strings.ToValidUTF8(username[:maxAuditUsername], "")
	}
	e := entry(r, auth.Principal{Username: username}, audit.ActionLoginFailed)
	e.Detail = map[string]any{"status": he.status}
	a.record(r, e)
}
