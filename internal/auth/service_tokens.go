package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Token limits.
const (
	MaxTokenNameLen = 64
	// MaxTokenTTL caps expires_in (about 10 years).
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
)

// NewToken is a token just created: Secret is the bearer token, shown to
// its owner once and never stored.
type NewToken struct {
	Token
	Secret string
}

// CreateToken makes a bearer token for username. ttl 0 means it never
// expires.
func (s *Service) CreateToken(ctx context.Context, username, name string, ttl time.Duration) (NewToken, error) {
	if err := checkTokenName(name); err != nil {
		return NewToken{}, err
	}
	if ttl < 0 || ttl > MaxTokenTTL {
		return NewToken{}, inputErr("expires_in", "must be positive and at most 87600h")
	}
	secret, err := newSecret()
	if err != nil {
		return NewToken{}, fmt.Errorf("create token: %w", err)
	}
	id, err := newID()
	if err != nil {
		return NewToken{}, fmt.Errorf("create token: %w", err)
	}
	secret = TokenPrefix + secret
	now := s.now()
	t := Token{ID: id, Username: username, Name: name, Hash: hashSecret(secret), CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return NewToken{}, fmt.Errorf("create token: %w", err)
	}
	s.log.Info("token created", "user", username, "token_id", id)
	return NewToken{Token: t, Secret: secret}, nil
}

func checkTokenName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > MaxTokenNameLen {
		return inputErr("name", fmt.Sprintf("must be 1 to %d characters", MaxTokenNameLen))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return inputErr("name", "must be printable")
		}
	}
	return nil
}

// ListTokens returns username's tokens (without secrets).
func (s *Service) ListTokens(ctx context.Context, username string) ([]Token, error) {
	return s.store.ListTokens(ctx, username)
}

// RevokeToken deletes one of username's tokens; ErrNotFound when username
// has no token with that id.
func (s *Service) RevokeToken(ctx context.Context, username, id string) error {
	if err := s.store.DeleteToken(ctx, username, id); err != nil {
		return err
	}
	s.log.Info("token revoked", "user", username, "token_id", id)
	return nil
}
