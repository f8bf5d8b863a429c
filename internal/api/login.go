package api

import (
	"net/http"

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
	p, ses, err := a.auth.Login(r.Context(), req.Username, req.Password, remoteIP(r))
	if err != nil {
		return err
	}
	setLogUser(r.Context(), p.Username)
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
