package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/vigil-video/vigil/internal/blob"
)

func TestPathRejectsEscapes(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "/abs", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/"} {
		if _, err := s.Path(key); err == nil {
			t.Errorf("Path(%q) accepted", key)
		}
	}
	if p, err := s.Path("cam/2026-11-29/x.mp4"); err != nil || filepath.Dir(filepath.Dir(p)) != filepath.Join(s.Root(), "cam") {
		t.Errorf("good key: %s %v", p, err)
	}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	w, err := s.Create(ctx, "cam/day/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.(blob.VecWriter).WriteVec([][]byte{[]byte("he"), nil, []byte("llo"), []byte(" world")})
	if err != nil || n != 11 {
		t.Fatalf("writev: %d %v", n, err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := s.SyncAll(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "cam/day/a.mp4")
	if err != nil || r.Size() != 11 {
		t.Fatalf("open: %v", err)
	}
	buf := make([]byte, 5)
	r.ReadAt(buf, 6)
	r.Close()
	if string(buf) != "world" {
		t.Fatalf("read %q", buf)
	}
	if err := s.Truncate(ctx, "cam/day/a.mp4", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "cam/day/a.mp4", "quarantine/cam/day/a.mp4"); err != nil {
		t.Fatal(err)
	}
	var keys []string
	s.List(ctx, func(k string, size int64) error {
		keys = append(keys, k)
		if size != 5 {
			t.Errorf("%s size %d", k, size)
		}
		return nil
	})
	sort.Strings(keys)
	if len(keys) != 1 || keys[0] != "quarantine/cam/day/a.mp4" {
		t.Fatalf("keys %v", keys)
	}
	if _, err := s.Open(ctx, "cam/day/a.mp4"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("open moved blob: %v", err)
	}
	if err := s.Delete(ctx, "quarantine/cam/day/a.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "quarantine/cam/day/a.mp4"); err != nil {
		t.Fatal("deleting a missing blob is an error")
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "quarantine")); !os.IsNotExist(err) {
		t.Error("empty directories left behind")
	}
}

// writevAll must finish a write that the kernel takes in parts.
func TestWritevManyBuffers(t *testing.T) {
	s, _ := New(t.TempDir())
	w, _ := s.Create(context.Background(), "x")
	bufs := make([][]byte, 3000) // more than IOV_MAX
	for i := range bufs {
		bufs[i] = []byte{byte(i)}
	}
	n, err := w.(blob.VecWriter).WriteVec(bufs)
	w.Close()
	if err != nil || n != 3000 {
		t.Fatalf("%d %v", n, err)
	}
	p, _ := s.Path("x")
	data, _ := os.ReadFile(p)
	for i, b := range data {
		if b != byte(i) {
			t.Fatalf("byte %d = %d", i, b)
		}
	}
}

// TestNameDurableAtFirstSync: Create does not fsync the directory (a
// journal commit per segment opened); the blob's first Sync does, once.
func TestNameDurableAtFirstSync(t *testing.T) {
	var synced []string
	orig := syncDir
	syncDir = func(dir string) error { synced = append(synced, dir); return orig(dir) }
	t.Cleanup(func() { syncDir = orig })
	s, _ := New(t.TempDir())
	w, err := s.Create(context.Background(), "cam/day/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(synced) != 0 {
		t.Fatalf("Create synced %v", synced)
	}
	for i := range 3 {
		if _, err := w.Write(make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		if len(synced) != 1 {
			t.Fatalf("after sync %d: directory synced %d times, want once", i+1, len(synced))
		}
	}
	if want := filepath.Join(s.Root(), "cam", "day"); synced[0] != want {
		t.Errorf("synced %s, want %s", synced[0], want)
	}
}
