// Package sqlite is the SQLite backend of the recordings index
// (modernc.org/sqlite, pure Go, driver name "sqlite").
//
// A Store holds two connection pools on the same database file: a writer
// pool with exactly one connection, so writes are serialized in-process and
// never fight over SQLite's write lock, and a small reader pool that runs
// concurrently with the writer thanks to WAL mode. Every method is safe for
// concurrent use.
//
// Durability: the writer runs with synchronous=FULL, so the WAL is fsynced
// at every commit and a transaction (notably CommitSegments) is durable on
// power loss by the time the method returns. synchronous=NORMAL would only
// survive process crashes, which is not enough for a recordings index whose
// rows promise that footage exists. The cost is one fsync per transaction,
// which is why recorders batch many cameras into one CommitSegments call.
//
// The schema and the fragment encoding are described in
// docs/format/index.md.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/vigil-video/vigil/internal/index"
)

// busyTimeoutMS is how long a connection waits for a lock held by another
// connection (or process) before failing with SQLITE_BUSY.
const busyTimeoutMS = 10000

// readConns is the size of the reader pool.
const readConns = 4

// Store is the SQLite index. Create it with Open; it implements index.Index.
type Store struct {
	write *sql.DB // exactly one connection; all writes go here
	read  *sql.DB // query_only connections for reads
	box   Sealer  // seals camera credentials; nil: stored as given
}

var _ index.Index = (*Store)(nil)

// Open opens (creating if needed) the index database at path, sets it to
// WAL mode and applies pending migrations. The directory must exist.
// The special path ":memory:" opens a private in-memory database (tests).
// See WithSecrets for the encryption of camera credentials.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s, err := openPools(ctx, path)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(s)
	}
	ms, err := indexMigrations()
	if err == nil {
		err = Migrate(ctx, s.write, "index", ms)
	}
	if err == nil && s.box != nil {
		err = s.sealStoredSources(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open index: %w", err)
	}
	return s, nil
}

func openPools(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open index: invalid path %q", path)
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	if path == ":memory:" {
		// Every connection would get its own database: share the writer.
		return &Store{write: write, read: write}, nil
	}
	// Open the writer first so the file exists and is in WAL mode before
	// query_only readers look at it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open index: %w", err)
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open index: %w", err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	return &Store{write: write, read: read}, nil
}

// dsn builds the driver DSN for one pool.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	q.Set("_foreign_keys", "1")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		// Take the write lock at BEGIN, so a transaction never fails
		// half-way trying to upgrade a read lock.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// DB returns the writer pool (one connection) so that other packages can
// keep their own tables in the same file, e.g. with Migrate. Long
// transactions on it block index writes.
func (s *Store) DB() *sql.DB { return s.write }

// Close implements index.Index.
func (s *Store) Close() error {
	var errs []error
	if s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close index: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
