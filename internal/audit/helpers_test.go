package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/testutil"
)

// fixture is a Log over a real SQLite index database, running.
type fixture struct {
	t      testing.TB
	db     *sql.DB
	dir    string
	log    *Log
	signer KeySigner
	cancel context.CancelFunc
	done   chan error
	ctx    context.Context
}

func testSigner(t testing.TB) KeySigner {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return KeySigner{Key: priv}
}

// newFixture opens vigil.db in a temporary dir and starts a Log on it.
func newFixture(t testing.TB, opt Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, db: st.DB(), dir: dir, signer: testSigner(t), ctx: testutil.Context(t, 30*time.Second)}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = 5 * time.Millisecond
	}
	if opt.HeadInterval == 0 {
		opt.HeadInterval = time.Hour
	}
	f.log, err = NewWithOptions(f.db, f.signer, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) start() {
	ctx, cancel := context.WithCancel(f.ctx)
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.log.Run(ctx) }()
}

// stop ends Run and waits for it (idempotent).
func (f *fixture) stop() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	if err := <-f.done; err != nil {
		f.t.Errorf("run: %v", err)
	}
	f.cancel = nil
}

// record queues n entries for user u, numbered from i0.
func (f *fixture) record(u string, i0, n int) {
	f.t.Helper()
	for i := i0; i < i0+n; i++ {
		e := Entry{User: u, Role: "operator", Action: ActionPlayback, Camera: fmt.Sprintf("cam-%d", i%3),
			Site: "north", Reason: fmt.Sprintf("case %d", i), Remote: "10.0.0.1",
			From: time.Unix(int64(1_700_000_000+i), 0), To: time.Unix(int64(1_700_000_060+i), 0),
			Detail: map[string]any{"i": i}}
		if err := f.log.Record(f.ctx, e); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) sync() {
	f.t.Helper()
	if err := f.log.Sync(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) verify() Report {
	f.t.Helper()
	r, err := VerifyDB(f.ctx, f.db, f.signer.Public())
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// all returns every record, oldest first.
func (f *fixture) all() []Record {
	f.t.Helper()
	var out []Record
	cursor := ""
	for {
		p, err := f.log.List(f.ctx, Filter{Limit: MaxLimit, Cursor: cursor})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, p.Records...)
		if p.Next == "" {
			slices.Reverse(out)
			return out
		}
		cursor = p.Next
	}
}
