package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one schema step. Versions of a component start at 1 and
// increase by one; a migration runs once, in its own transaction together
// with the row that records it in schema_migrations.
type Migration struct {
	Version int
	SQL     string
}

// indexMigrations returns the index schema migrations, read from the
// embedded migrations/NNNN_name.sql files.
func indexMigrations() ([]Migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	ms := make([]Migration, 0, len(files))
	for _, name := range files {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version prefix: %w", name, err)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		ms = append(ms, Migration{Version: v, SQL: string(b)})
	}
	return ms, nil
}

// Migrate applies the migrations of component (e.g. "index", "auth") that
// db has not applied yet, recording each in the shared schema_migrations
// table. It is safe to call from several processes: each step runs in an
// IMMEDIATE transaction when db is a Store's DB().
func Migrate(ctx context.Context, db *sql.DB, component string, ms []Migration) error {
	ms = append([]Migration(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return fmt.Errorf("migrate %s: versions must be 1..n, got %d at %d", component, m.Version, i)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		applied_us INTEGER NOT NULL,
		PRIMARY KEY (component, version)
	) STRICT`); err != nil {
		return fmt.Errorf("migrate %s: create schema_migrations: %w", component, err)
	}
	for _, m := range ms {
		if err := applyMigration(ctx, db, component, m); err != nil {
			return fmt.Errorf("migrate %s to %d: %w", component, m.Version, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, component string, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var n int
	err = tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE component = ? AND version = ?`,
		component, m.Version).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (component, version, applied_us) VALUES (?, ?, ?)`,
		component, m.Version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the highest applied migration of component (0 when
// none).
func SchemaVersion(ctx context.Context, db *sql.DB, component string) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx,
		`SELECT max(version) FROM schema_migrations WHERE component = ?`, component).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return int(v.Int64), nil
}
