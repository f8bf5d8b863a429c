package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenPragmas(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	tests := []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.write, "journal_mode", "wal"},
		{s.write, "synchronous", "2"}, // FULL: commits are durable on return
		{s.write, "foreign_keys", "1"},
		{s.write, "busy_timeout", "10000"},
		{s.read, "query_only", "1"},
		{s.read, "foreign_keys", "1"},
		{s.read, "journal_mode", "wal"},
	}
	for _, tt := range tests {
		var got string
		if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

func TestReadPoolIsReadOnly(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	if _, err := s.read.ExecContext(t.Context(), `DELETE FROM sites`); err == nil {
		t.Error("write through the read pool succeeded")
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	ctx := t.Context()
	for i := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		v, err := SchemaVersion(ctx, s.DB(), "index")
		if err != nil || v != 3 {
			t.Errorf("schema version = %d, %v; want 3", v, err)
		}
		if i == 0 {
			if _, err := s.CreateSite(ctx, siteFixture()); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.GetSite(ctx, "hq"); err != nil {
			t.Errorf("site after reopen: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrateOtherComponent(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	ctx := t.Context()
	ms := []Migration{
		{Version: 2, SQL: `ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''`},
		{Version: 1, SQL: `CREATE TABLE users (id TEXT PRIMARY KEY)`},
	}
	for range 2 { // idempotent
		if err := Migrate(ctx, s.DB(), "auth", ms); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := SchemaVersion(ctx, s.DB(), "auth"); err != nil || v != 2 {
		t.Errorf("auth version = %d, %v; want 2", v, err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO users (id, email) VALUES ('u', 'u@x')`); err != nil {
		t.Error(err)
	}
}

func TestMigrateErrors(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	tests := []struct {
		name string
		ms   []Migration
		want string
	}{
		{"gap", []Migration{{Version: 1, SQL: "SELECT 1"}, {Version: 3, SQL: "SELECT 1"}}, "versions must be 1..n"},
		{"bad sql", []Migration{{Version: 1, SQL: "CREATE TABLEX"}}, "migrate broken to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Migrate(t.Context(), s.DB(), "broken", tt.ms)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Migrate error = %v, want %q", err, tt.want)
			}
		})
	}
	if v, _ := SchemaVersion(t.Context(), s.DB(), "broken"); v != 0 {
		t.Errorf("failed migration left version %d", v)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, p := range []string{"", "x.db?mode=ro", filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestOpenMemory(t *testing.T) {
	s, err := Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateSite(t.Context(), siteFixture()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSite(t.Context(), "hq"); err != nil {
		t.Error(err)
	}
}

// TestQueryPlans guards the indexes that keep the hot queries fast.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	tests := []struct {
		query string
		args  int
		want  string
	}{
		{`SELECT id FROM segments WHERE camera = ?1 AND start_us < ?3
			AND start_us >= ?2 - (SELECT max_span_us FROM segment_stats WHERE id = 1)
			AND end_us > ?2 AND state != 3 ORDER BY start_us, id`, 3, "segments_camera_start (camera=? AND start_us>? AND start_us<?)"},
		{`SELECT id FROM segments WHERE start_us < ?1 ORDER BY start_us, id LIMIT 10`, 1, "segments_start"},
		{`SELECT id FROM segments WHERE state = 1 ORDER BY id`, 0, "segments_open"},
		{lastImportedQuery, 2, "segments_origin_seq (camera=? AND origin=? AND last_seq>?)"},
		{`SELECT id FROM events WHERE camera = ? ORDER BY start_us DESC, id DESC LIMIT 10`, 1, "events_camera_start"},
		{`SELECT id FROM events ORDER BY start_us DESC, id DESC LIMIT 10`, 0, "events_start"},
	}
	for _, tt := range tests {
		plan := explain(t.Context(), t, s.read, tt.query, tt.args)
		if !strings.Contains(plan, tt.want) {
			t.Errorf("plan of %q:\n%s\nwant it to use %s", tt.query, plan, tt.want)
		}
	}
}

func explain(ctx context.Context, t *testing.T, db *sql.DB, q string, nargs int) string {
	t.Helper()
	args := make([]any, nargs)
	for i := range args {
		args[i] = 0
	}
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %q: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

// TestMigrateKeepsSegments: rows written before migration 3 read back as
// hub footage (no origin) and LastImported finds nothing.
func TestMigrateKeepsSegments(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "index.db")
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := indexMigrations()
	if err != nil || len(ms) < 3 {
		t.Fatalf("migrations: %d, %v", len(ms), err)
	}
	if err := Migrate(ctx, raw, "index", ms[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO segments
		(camera, start_us, end_us, bytes, path, state, init_size, codecs, fragments)
		VALUES ('cam1', 1, 2, 3, 'cam1/a.mp4', 2, 1, 'h264', x'01020000')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	segs, err := s.SegmentsBefore(ctx, fromMicros(10), 0)
	if err != nil || len(segs) != 1 || segs[0].Origin != "" || segs[0].FirstSeq != 0 || segs[0].Path != "cam1/a.mp4" {
		t.Fatalf("segments after migration: %+v, %v", segs, err)
	}
	if seq, _, err := s.LastImported(ctx, "cam1", "o1"); err != nil || seq != 0 {
		t.Fatalf("last imported = %d, %v", seq, err)
	}
}
