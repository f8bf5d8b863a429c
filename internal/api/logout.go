package api

import (
	"net/http"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// logout serves POST /api/v1/logout: ends the session of the cookie (if
// the caller used one) and clears the cookie. 204.
func (a *API) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if c, err := r.Cookie(SessionCookie); err == nil && p.Via == auth.ViaSession {
		if err := a.auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	e := entry(r, p, audit.ActionLogout)
	e.Detail = map[string]any{"via": string(p.Via)}
	a.record(r, e)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
