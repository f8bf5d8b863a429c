package auth

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigil-video/vigil/internal/testutil"
)

// fastHash keeps tests quick; production uses the defaults.
var fastHash = Argon2Params{Memory: 64, Time: 1, Threads: 1}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = testutil.LogBuffer

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newStore(t *testing.T) *SQLStore {
	t.Helper()
	st, err := NewSQLStore(openDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type fixture struct {
	svc   *Service
	store *SQLStore
	clock *fakeClock
	logs  *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: newStore(t), clock: newClock(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := New(Config{Hash: fastHash}, Deps{Store: f.store, Logger: log, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) addUser(t *testing.T, name, pw string, role Role, sites ...string) User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), NewUser{Username: name, Password: pw, Role: role, Sites: sites})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}
