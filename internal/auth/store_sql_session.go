package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateSession implements SessionStore.
func (s *SQLStore) CreateSession(ctx context.Context, ses Session) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO auth_sessions (id_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		ses.IDHash, ses.Username, toUnix(ses.CreatedAt), toUnix(ses.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession implements SessionStore.
func (s *SQLStore) GetSession(ctx context.Context, idHash string) (Session, error) {
	var (
		ses              Session
		created, expires int64
	)
	err := s.db.QueryRowContext(ctx,
		`SELECT id_hash, username, created_at, expires_at FROM auth_sessions WHERE id_hash = ?`, idHash).
		Scan(&ses.IDHash, &ses.Username, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("get session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	ses.CreatedAt, ses.ExpiresAt = fromUnix(created), fromUnix(expires)
	return ses, nil
}

// DeleteSession implements SessionStore.
func (s *SQLStore) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions implements SessionStore.
func (s *SQLStore) DeleteUserSessions(ctx context.Context, username string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE username = ?`, username); err != nil {
		return fmt.Errorf("delete user sessions: %w", err)
	}
	return nil
}

// DeleteExpired implements SessionStore.
func (s *SQLStore) DeleteExpired(ctx context.Context, now time.Time) error {
	n := toUnix(now)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at <= ?`, n); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM auth_tokens WHERE expires_at <> 0 AND expires_at <= ?`, n); err != nil {
		return fmt.Errorf("delete expired tokens: %w", err)
	}
	return nil
}
