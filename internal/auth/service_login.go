package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NewSession is a session just created by Login. Token goes into the
// session cookie; it is not stored anywhere.
type NewSession struct {
	Token     string
	ExpiresAt time.Time
}

// Login checks a username and password (remote is the caller's address,
// for rate limiting) and creates a session.
func (s *Service) Login(ctx context.Context, username, password, remote string) (Principal, NewSession, error) {
	u, err := s.checkPassword(ctx, username, password, remote)
	if err != nil {
		return Principal{}, NewSession{}, err
	}
	tok, err := newSecret()
	if err != nil {
		return Principal{}, NewSession{}, fmt.Errorf("login: %w", err)
	}
	now := s.now()
	ses := Session{IDHash: hashSecret(tok), Username: u.Username, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(ctx, ses); err != nil {
		return Principal{}, NewSession{}, fmt.Errorf("login: %w", err)
	}
	s.log.Info("login", "user", u.Username)
	p := principalOf(u, ViaSession)
	p.Session = ses.IDHash
	return p, NewSession{Token: tok, ExpiresAt: ses.ExpiresAt}, nil
}

// AuthenticateBasic checks HTTP Basic credentials, rate limited like Login.
func (s *Service) AuthenticateBasic(ctx context.Context, username, password, remote string) (Principal, error) {
	u, err := s.checkPassword(ctx, username, password, remote)
	if err != nil {
		return Principal{}, err
	}
	return principalOf(u, ViaBasic), nil
}

// checkPassword verifies a password under the login rate limits. It
// returns ErrInvalidCredentials for unknown users and wrong passwords
// alike, and a *RateLimitError when the username+address pair, or the
// account from every address together, is locked out.
func (s *Service) checkPassword(ctx context.Context, username, password, remote string) (User, error) {
	account := strings.ToLower(username)
	key := account + "\x00" + remote
	if ok, wait := s.limiter.take(key); !ok {
		s.log.Warn("login rate limited", "user", safeName(username), "remote", remote)
		return User{}, &RateLimitError{RetryAfter: wait}
	}
	if ok, wait := s.accounts.take(account); !ok {
		s.log.Warn("account locked out after repeated failed logins", "user", safeName(username), "remote", remote)
		return User{}, &RateLimitError{RetryAfter: wait}
	}
	u, err := s.store.GetUser(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("check password: %w", err)
	}
	hash := u.PasswordHash
	// an externally authenticated (OIDC) user has no password: the dummy
	// hash keeps the timing and never matches
	if err != nil || len(password) > MaxPasswordLen || hash == ExternalPasswordHash {
		hash = s.dummyHash
	}
	match, verr := VerifyPassword(hash, password)
	if verr != nil {
		s.log.Error("stored password hash unreadable", "user", u.Username, "err", verr)
	}
	if err != nil || !match || len(password) > MaxPasswordLen {
		s.log.Info("login failed", "user", safeName(username), "remote", remote)
		return User{}, ErrInvalidCredentials
	}
	if hash == s.dummyHash {
		return User{}, ErrInvalidCredentials
	}
	s.limiter.reset(key)
	s.accounts.reset(account)
	return u, nil
}

// safeName returns username for logging when it is a valid name, so a
// password typed into the username field is not written to the log.
func safeName(username string) string {
	if ValidUsername(username) {
		return username
	}
	return "(invalid)"
}

// AuthenticateSession returns the principal of a session cookie's token.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (Principal, error) {
	if !wellFormed(token, "") {
		return Principal{}, ErrInvalidCredentials
	}
	h := hashSecret(token)
	ses, err := s.store.GetSession(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrInvalidCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate session: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(ses.IDHash), []byte(h)) != 1 {
		return Principal{}, ErrInvalidCredentials
	}
	if !s.now().Before(ses.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, h)
		return Principal{}, ErrInvalidCredentials
	}
	p, err := s.principal(ctx, ses.Username, ViaSession)
	if err != nil {
		return Principal{}, err
	}
	p.Session = h
	return p, nil
}

// AuthenticateToken returns the principal of a bearer token.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	if !wellFormed(token, TokenPrefix) {
		return Principal{}, ErrInvalidCredentials
	}
	h := hashSecret(token)
	t, err := s.store.GetTokenByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrInvalidCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return Principal{}, ErrInvalidCredentials
	}
	if !t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt) {
		return Principal{}, ErrInvalidCredentials
	}
	p, err := s.principal(ctx, t.Username, ViaToken)
	if err != nil {
		return Principal{}, err
	}
	p.Session = "token:" + h
	return p, nil
}

// principal loads the user fresh, so role and site changes apply at once.
func (s *Service) principal(ctx context.Context, username string, via Method) (Principal, error) {
	u, err := s.store.GetUser(ctx, username)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrInvalidCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load user: %w", err)
	}
	return principalOf(u, via), nil
}

// Logout ends the session whose cookie token is given. Unknown tokens are
// not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormed(token, "") {
		return nil
	}
	if err := s.store.DeleteSession(ctx, hashSecret(token)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
