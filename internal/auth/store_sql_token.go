package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CreateToken implements TokenStore.
func (s *SQLStore) CreateToken(ctx context.Context, t Token) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO auth_tokens (id, username, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Username, t.Name, t.Hash, toUnix(t.CreatedAt), toUnix(t.ExpiresAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("create token: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

const tokenCols = `id, username, name, hash, created_at, expires_at`

func scanToken(row scanner) (Token, error) {
	var (
		t                Token
		created, expires int64
	)
	if err := row.Scan(&t.ID, &t.Username, &t.Name, &t.Hash, &created, &expires); err != nil {
		return Token{}, err
	}
	t.CreatedAt, t.ExpiresAt = fromUnix(created), fromUnix(expires)
	return t, nil
}

// GetTokenByHash implements TokenStore.
func (s *SQLStore) GetTokenByHash(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM auth_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("get token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("get token: %w", err)
	}
	return t, nil
}

// ListTokens implements TokenStore.
func (s *SQLStore) ListTokens(ctx context.Context, username string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+tokenCols+` FROM auth_tokens WHERE username = ? ORDER BY created_at, id`, username)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken implements TokenStore.
func (s *SQLStore) DeleteToken(ctx context.Context, username, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_tokens WHERE username = ? AND id = ?`, username, id)
	return affectedOne("delete token", res, err)
}
