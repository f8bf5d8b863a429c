// Package auth holds Vigil's users, login sessions and bearer tokens, and
// decides what a caller may do.
//
// Passwords are hashed with argon2id (bcrypt hashes are still accepted for
// verification). Session ids and bearer tokens are 32 random bytes; only
// their SHA-256 is stored, so a copy of the database grants no access.
// Nothing in this package logs a password, a hash, a session id or a token.
//
// A Service does the work on top of a Store (SQLStore is the SQL backend).
// Principal is who a request acts as; Principal.Can and
// Principal.CanSeeSite implement the role table of the public contract.
package auth

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrNotFound: no such user, session or token.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the user already exists.
	ErrConflict = errors.New("already exists")
	// ErrInvalidCredentials: unknown user, wrong password, or an unknown,
	// expired or revoked session or token. Deliberately says no more.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrRateLimited: too many failed logins; see RateLimitError.
	ErrRateLimited = errors.New("too many failed logins")
	// ErrLastAdmin: the change would leave no admin.
	ErrLastAdmin = errors.New("would leave no admin")
)

// InputError reports an invalid field in a request to this package. Its
// message is safe to show to the user: it never contains the value.
type InputError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *InputError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

func inputErr(field, reason string) error { return &InputError{Field: field, Reason: reason} }
