package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// callbackError is a refused callback: status and msg go to the browser,
// logMsg and err (never holding a token or code) to the log.
type callbackError struct {
	status int
	msg    string
	err    error
	user   string // the provider's user name, once known
}

func (e *callbackError) Error() string { return fmt.Sprintf("%d %s: %v", e.status, e.msg, e.err) }
func (e *callbackError) Unwrap() error { return e.err }

func refuse(status int, msg string, err error) error {
	return &callbackError{status: status, msg: msg, err: err}
}

// callback serves GET /api/v1/oidc/callback.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	// The state is single-use whatever happens: clear its cookie.
	http.SetCookie(w, &http.Cookie{Name: StateCookie, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	p, ses, err := s.finish(r)
	if err != nil {
		var ce *callbackError
		if !errors.As(err, &ce) {
			ce = &callbackError{status: http.StatusInternalServerError, msg: "sign-in failed", err: err}
		}
		s.log.Warn("oidc login refused", "status", ce.status, "reason", ce.msg, "err", ce.err, "remote", r.RemoteAddr)
		s.record(r, audit.Entry{User: ce.user, Action: audit.ActionLoginFailed,
			Detail: map[string]any{"via": "oidc", "status": ce.status}})
		writeError(w, ce.status, ce.msg)
		return
	}
	s.record(r, audit.Entry{User: p.Username, Role: string(p.Role), Action: audit.ActionLogin,
		Detail: map[string]any{"via": "oidc"}})
	http.SetCookie(w, &http.Cookie{
		Name:     api.SessionCookie,
		Value:    ses.Token,
		Path:     "/",
		Expires:  ses.ExpiresAt,
		MaxAge:   int(ses.ExpiresAt.Sub(s.now()).Seconds()),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	s.log.Info("oidc login", "user", p.Username, "role", p.Role, "sites", p.Sites, "remote", r.RemoteAddr)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.cfg.AfterLogin, http.StatusSeeOther)
}

var errorCodeRE = regexp.MustCompile(`^[a-z_]{1,64}$`)

// finish checks the callback and creates the session.
func (s *Service) finish(r *http.Request) (auth.Principal, auth.NewSession, error) {
	q := r.URL.Query()
	pl, err := s.checkState(r, q.Get("state"))
	if err != nil {
		return auth.Principal{}, auth.NewSession{}, err
	}
	if e := q.Get("error"); e != "" {
		if !errorCodeRE.MatchString(e) {
			e = "invalid error code"
		}
		return auth.Principal{}, auth.NewSession{}, refuse(http.StatusUnauthorized,
			"the identity provider refused the sign-in: "+e, errors.New("provider error "+e))
	}
	code := q.Get("code")
	if code == "" {
		return auth.Principal{}, auth.NewSession{}, refuse(http.StatusBadRequest, "code is required", errors.New("no code"))
	}
	id, err := s.identify(r.Context(), code, pl)
	if err != nil {
		return auth.Principal{}, auth.NewSession{}, err
	}
	p, ses, err := s.signIn(r.Context(), id)
	var ce *callbackError
	if errors.As(err, &ce) {
		ce.user = id.username
	}
	return p, ses, err
}

// checkState accepts a state only from the browser that started the login
// (its cookie holds the same state) and only once.
func (s *Service) checkState(r *http.Request, state string) (pendingLogin, error) {
	if state == "" || len(state) > 256 {
		return pendingLogin{}, refuse(http.StatusBadRequest, "invalid login state", errors.New("missing or oversized state"))
	}
	c, err := r.Cookie(StateCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		return pendingLogin{}, refuse(http.StatusBadRequest, "login state does not match this browser, start again",
			errors.New("state cookie missing or different"))
	}
	pl, ok := s.pending.take(state, s.now())
	if !ok {
		return pendingLogin{}, refuse(http.StatusBadRequest, "unknown, used or expired login state, start again",
			errors.New("state not pending"))
	}
	return pl, nil
}

// identity is who the provider says the user is.
type identity struct {
	subject  string
	username string
	groups   []string
}

// identify exchanges the code and verifies the ID token.
func (s *Service) identify(ctx context.Context, code string, pl pendingLogin) (identity, error) {
	p, err := s.discover(ctx)
	if err != nil {
		return identity{}, refuse(http.StatusServiceUnavailable, "the identity provider is unavailable", err)
	}
	cctx := s.clientContext(ctx)
	tok, err := s.oauth(p).Exchange(cctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		return identity{}, refuse(http.StatusUnauthorized, "the identity provider refused the code", exchangeErr(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, refuse(http.StatusUnauthorized, "the identity provider sent no ID token", errors.New("no id_token"))
	}
	v := p.VerifierContext(cctx, &gooidc.Config{ClientID: s.cfg.ClientID, Now: s.now})
	idt, err := v.Verify(cctx, raw)
	if err != nil {
		return identity{}, refuse(http.StatusUnauthorized, "invalid ID token", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.nonce)) != 1 {
		return identity{}, refuse(http.StatusUnauthorized, "invalid ID token", errors.New("nonce does not match"))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return identity{}, refuse(http.StatusUnauthorized, "invalid ID token", fmt.Errorf("decode claims: %w", err))
	}
	if s.needUserInfo(claims) {
		s.addUserInfo(cctx, p, tok, idt.Subject, claims)
	}
	return s.identityOf(idt.Subject, claims)
}

// exchangeErr keeps only the OAuth error code of a failed exchange (the
// provider's body is not logged).
func exchangeErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
	}
	return fmt.Errorf("code exchange: %w", err)
}

// signIn maps the groups and creates the session.
func (s *Service) signIn(ctx context.Context, id identity) (auth.Principal, auth.NewSession, error) {
	role, sites, ok := resolve(s.cfg.Groups, id.groups)
	if !ok {
		return auth.Principal{}, auth.NewSession{}, refuse(http.StatusForbidden,
			"none of your groups gives access to Vigil",
			fmt.Errorf("user %s (sub %s) has no mapped group among %q", id.username, id.subject, id.groups))
	}
	p, ses, err := s.auth.LoginExternal(ctx, auth.ExternalUser{Username: id.username, Role: role, Sites: sites})
	var ie *auth.InputError
	switch {
	case errors.Is(err, auth.ErrConflict):
		return p, ses, refuse(http.StatusForbidden, "a local user has this name; ask an admin", err)
	case errors.As(err, &ie):
		return p, ses, refuse(http.StatusForbidden, "the identity provider's user or groups are not acceptable: "+ie.Error(), err)
	case err != nil:
		return p, ses, fmt.Errorf("create session: %w", err)
	}
	return p, ses, nil
}
