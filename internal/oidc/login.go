package oidc

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-video/vigil/internal/api"
)

// login serves GET /api/v1/oidc/login: it starts a login and redirects the
// browser to the provider.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	p, err := s.discover(r.Context())
	if err != nil {
		s.log.Warn("oidc provider unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the identity provider is unavailable")
		return
	}
	state, nonce := randomString(), randomString()
	verifier := oauth2.GenerateVerifier()
	if !s.pending.put(state, pendingLogin{nonce: nonce, verifier: verifier}, s.now()) {
		s.log.Warn("oidc login refused: too many logins in progress")
		writeError(w, http.StatusServiceUnavailable, "too many logins in progress, try again later")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     StateCookie,
		Value:    state,
		Path:     Prefix,
		MaxAge:   int(s.cfg.StateTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	u := s.oauth(p).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Service) secure(r *http.Request) bool { return s.cfg.SecureCookies || r.TLS != nil }

// randomString returns 32 random bytes, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	api.WriteError(w, status, msg)
}
