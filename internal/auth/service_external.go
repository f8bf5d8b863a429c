package auth

import (
	"context"
	"errors"
	"fmt"
)

// ExternalPasswordHash is the PasswordHash of a user created by
// LoginExternal: it matches no password (VerifyPassword fails on it), so
// such a user can only sign in through its identity provider, and it marks
// the user as external so that an identity provider can never take over a
// local (password) user of the same name.
const ExternalPasswordHash = "!external"

// ExternalUser is a user authenticated by an external identity provider
// (OpenID Connect), with the role and sites its provider's groups map to.
type ExternalUser struct {
	Username string
	Role     Role
	Sites    []string
}

// LoginExternal creates a session for a user whom an identity provider
// has authenticated. The user is created on first sign-in and its role and
// sites are overwritten on every later one, so changes made at the
// provider apply at the next sign-in. A user created with a password
// (CreateUser, Bootstrap) is never signed in this way: that fails with
// ErrConflict. The provider's word wins even if it demotes the last admin.
func (s *Service) LoginExternal(ctx context.Context, eu ExternalUser) (Principal, NewSession, error) {
	if !ValidUsername(eu.Username) {
		return Principal{}, NewSession{}, inputErr("username", "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit")
	}
	if err := checkRoleSites(eu.Role, eu.Sites); err != nil {
		return Principal{}, NewSession{}, err
	}
	u, err := s.upsertExternal(ctx, eu)
	if err != nil {
		return Principal{}, NewSession{}, fmt.Errorf("external login %s: %w", eu.Username, err)
	}
	tok, err := newSecret()
	if err != nil {
		return Principal{}, NewSession{}, fmt.Errorf("external login: %w", err)
	}
	now := s.now()
	ses := Session{IDHash: hashSecret(tok), Username: u.Username, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(ctx, ses); err != nil {
		return Principal{}, NewSession{}, fmt.Errorf("external login: %w", err)
	}
	s.log.Info("login", "user", u.Username, "via", "oidc", "role", u.Role)
	return principalOf(u, ViaSession), NewSession{Token: tok, ExpiresAt: ses.ExpiresAt}, nil
}

// upsertExternal creates the external user or brings its role and sites
// up to date.
func (s *Service) upsertExternal(ctx context.Context, eu ExternalUser) (User, error) {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	now := s.now()
	u, err := s.store.GetUser(ctx, eu.Username)
	if errors.Is(err, ErrNotFound) {
		u = User{Username: eu.Username, PasswordHash: ExternalPasswordHash, Role: eu.Role,
			Sites: dedup(eu.Sites), CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return User{}, err
		}
		s.log.Info("user created", "user", u.Username, "role", u.Role, "via", "oidc")
		return u, nil
	}
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash != ExternalPasswordHash {
		return User{}, fmt.Errorf("a local user has this name: %w", ErrConflict)
	}
	u.Role, u.Sites, u.UpdatedAt = eu.Role, dedup(eu.Sites), now
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}
