package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SQLStore keeps users, sessions and tokens in three tables (auth_users,
// auth_sessions, auth_tokens) of a database/sql database. It is written for
// SQLite; the SQL is plain enough to port.
type SQLStore struct {
	db *sql.DB
}

var _ Store = (*SQLStore)(nil)

const sqlSchema = `
CREATE TABLE IF NOT EXISTS auth_users (
	username      TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL,
	sites         TEXT NOT NULL DEFAULT '[]',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_sessions (
	id_hash    TEXT PRIMARY KEY,
	username   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_sessions_username ON auth_sessions(username);
CREATE TABLE IF NOT EXISTS auth_tokens (
	id         TEXT PRIMARY KEY,
	username   TEXT NOT NULL,
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS auth_tokens_username ON auth_tokens(username);
`

// NewSQLStore creates the auth tables in db if they do not exist yet and
// returns a store on them. The caller keeps owning db.
func NewSQLStore(db *sql.DB) (*SQLStore, error) {
	for stmt := range strings.SplitSeq(sqlSchema, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			return nil, fmt.Errorf("auth schema: %w", err)
		}
	}
	return &SQLStore{db: db}, nil
}

func toUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "unique")
}

// CreateUser implements UserStore.
func (s *SQLStore) CreateUser(ctx context.Context, u User) error {
	sites, err := json.Marshal(nonNil(u.Sites))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_users (username, password_hash, role, sites, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Username, u.PasswordHash, string(u.Role), string(sites), toUnix(u.CreatedAt), toUnix(u.UpdatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("create user: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (User, error) {
	var (
		u              User
		role, sites    string
		created, updat int64
	)
	if err := row.Scan(&u.Username, &u.PasswordHash, &role, &sites, &created, &updat); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	if err := json.Unmarshal([]byte(sites), &u.Sites); err != nil {
		return User{}, fmt.Errorf("user %s sites: %w", u.Username, err)
	}
	u.CreatedAt, u.UpdatedAt = fromUnix(created), fromUnix(updat)
	return u, nil
}

const userCols = `username, password_hash, role, sites, created_at, updated_at`

// GetUser implements UserStore.
func (s *SQLStore) GetUser(ctx context.Context, username string) (User, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM auth_users WHERE username = ?`, username)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("get user: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers implements UserStore.
func (s *SQLStore) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM auth_users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser implements UserStore.
func (s *SQLStore) UpdateUser(ctx context.Context, u User) error {
	sites, err := json.Marshal(nonNil(u.Sites))
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	res, err := s.db.ExecContext(ctx,
		`UPDATE auth_users SET password_hash = ?, role = ?, sites = ?, updated_at = ? WHERE username = ?`,
		u.PasswordHash, string(u.Role), string(sites), toUnix(u.UpdatedAt), u.Username)
	return affectedOne("update user", res, err)
}

// DeleteUser implements UserStore.
func (s *SQLStore) DeleteUser(ctx context.Context, username string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{
		`DELETE FROM auth_sessions WHERE username = ?`,
		`DELETE FROM auth_tokens WHERE username = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, username); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM auth_users WHERE username = ?`, username)
	if err := affectedOne("delete user", res, err); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

func affectedOne(op string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
