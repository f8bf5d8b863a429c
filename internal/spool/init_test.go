package spool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitLayouts: a camera whose track layout changes gets a new init id;
// every fragment reads back with the init it was appended with, before and
// after a restart, and a later file repeats the init it needs.
func TestInitLayouts(t *testing.T) {
	t.Parallel()
	initA, frags := clipFragments(t, 1, t0)
	initB := append(append([]byte(nil), initA...), 0, 0, 0, 8, 'f', 'r', 'e', 'e')
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: 1 << 16})
	want := map[uint64][]byte{}
	for i, f := range frags {
		if i/7%2 == 1 {
			f.Init = initB
		}
		seq, err := s.Append("cam", f)
		if err != nil {
			t.Fatal(err)
		}
		want[seq] = f.Init
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	check := func(s *Spool) {
		t.Helper()
		p, _ := s.Pending("cam", 0, 0)
		ids := map[uint32]bool{}
		for _, e := range p {
			gi, _, err := s.Read("cam", e.Seq)
			if err != nil || !bytes.Equal(gi, want[e.Seq]) {
				t.Fatalf("seq %d: init differs (%v)", e.Seq, err)
			}
			ids[e.InitID] = true
		}
		if len(p) != len(frags) || len(ids) < 3 {
			t.Fatalf("%d entries with %d init ids; want %d entries, a new id per layout change", len(p), len(ids), len(frags))
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, Options{Quota: 1 << 30, SegmentBytes: 1 << 16})
	check(s2)
}

// TestCorruptInit: a damaged init block makes the fragments that need it
// unreadable with ErrCorrupt, never returned with a bad init.
func TestCorruptInit(t *testing.T) {
	t.Parallel()
	_, frags := clipFragments(t, 10, t0)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 30})
	appendAll(t, s, "cam", frags[:3])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	flipByte(t, lastFile(t, dir), int64(len(fileMagic)+headerSize+20))
	s2 := mustOpen(t, dir, Options{Quota: 1 << 30})
	p, _ := s2.Pending("cam", 0, 0)
	if len(p) != 3 {
		t.Fatalf("pending %d, want 3", len(p))
	}
	for _, e := range p {
		if _, _, err := s2.Read("cam", e.Seq); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("seq %d with a damaged init: %v, want ErrCorrupt", e.Seq, err)
		}
	}
}

// TestOrigin: a spool keeps its origin id across restarts; another spool
// (a wiped data directory) gets another one; a damaged origin file is an
// error, never a silently new identity.
func TestOrigin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Quota: 1 << 20})
	a := s.Origin()
	if len(a) != 32 {
		t.Fatalf("origin %q, want 32 hex digits", a)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b := mustOpen(t, dir, Options{Quota: 1 << 20}).Origin(); b != a {
		t.Fatalf("origin after restart %q, want %q", b, a)
	}
	if c := mustOpen(t, t.TempDir(), Options{Quota: 1 << 20}).Origin(); c == a {
		t.Fatal("two spools share an origin")
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, originFile), []byte("not-an-id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad, Options{Quota: 1 << 20}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged origin: %v", err)
	}
}
