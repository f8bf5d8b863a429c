package auth

import (
	"context"
	"time"
)

// User is a stored user. PasswordHash never leaves this package's callers
// that answer users.
type User struct {
	Username     string
	PasswordHash string
	Role         Role
	Sites        []string // empty: every site
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a stored login session. The session id itself is never
// stored, only its hash.
type Session struct {
	IDHash    string
	Username  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is a stored bearer token. The token itself is never stored, only
// its hash.
type Token struct {
	ID        string // public identifier, for listing and revoking
	Username  string
	Name      string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires
}

// UserStore stores users.
type UserStore interface {
	// CreateUser inserts u; ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns a user; ErrNotFound.
	GetUser(ctx context.Context, username string) (User, error)
	// ListUsers returns every user, ordered by name.
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser overwrites hash, role, sites and UpdatedAt; ErrNotFound.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes the user with its sessions and tokens; ErrNotFound.
	DeleteUser(ctx context.Context, username string) error
}

// SessionStore stores login sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with this id hash; ErrNotFound.
	GetSession(ctx context.Context, idHash string) (Session, error)
	// DeleteSession removes a session; a missing one is not an error.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions removes every session of a user.
	DeleteUserSessions(ctx context.Context, username string) error
	// DeleteExpired removes sessions and tokens that expired before now.
	DeleteExpired(ctx context.Context, now time.Time) error
}

// TokenStore stores bearer tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t Token) error
	// GetTokenByHash returns the token with this hash; ErrNotFound.
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens returns a user's tokens, oldest first.
	ListTokens(ctx context.Context, username string) ([]Token, error)
	// DeleteToken removes one of the user's tokens; ErrNotFound.
	DeleteToken(ctx context.Context, username, id string) error
}

// Store is everything a Service needs from a backend. SQLStore implements
// it; another database can follow by implementing the same methods.
type Store interface {
	UserStore
	SessionStore
	TokenStore
}
