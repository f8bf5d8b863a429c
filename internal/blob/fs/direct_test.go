package fs

import (
	"bytes"
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-video/vigil/internal/blob"
)

// oDirect reports whether the file under w is open with O_DIRECT.
func oDirect(t *testing.T, w blob.Writer) bool {
	t.Helper()
	fl, err := unix.FcntlInt(w.(*writer).Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fl&unix.O_DIRECT != 0
}

// TestDirectWrites: aligned writes go past the page cache and read back
// as written; the first unaligned write turns O_DIRECT off for the rest of
// the file and loses nothing.
func TestDirectWrites(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(context.Background(), "cam/day/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.(*writer).Direct() || !oDirect(t, w) {
		t.Skip("this filesystem refuses O_DIRECT") // the fallback is TestDirectRefused
	}
	var want []byte
	pattern := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}
	vw := w.(blob.VecWriter)
	for i, bufs := range [][][]byte{
		{pattern(100, 1), pattern(3996, 2)},               // 4096 in two pieces
		{pattern(8192, 3)},                                // one aligned buffer
		{pattern(5000, 4), nil, pattern(3192, 5)},         // 8192 with an empty piece
		{pattern(4096*40+1000, 6), pattern(4096-1000, 7)}, // larger than a kept buffer's first size
	} {
		n, err := vw.WriteVec(bufs)
		total := 0
		for _, b := range bufs {
			total += len(b)
			want = append(want, b...)
		}
		if err != nil || n != int64(total) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		if !w.(*writer).Direct() || !oDirect(t, w) {
			t.Fatalf("write %d (%d bytes, aligned) left O_DIRECT", i, total)
		}
	}
	// An unaligned write: buffered from here on.
	odd := pattern(1234, 8)
	if n, err := w.Write(odd); err != nil || n != len(odd) {
		t.Fatalf("unaligned write: %d, %v", n, err)
	}
	want = append(want, odd...)
	if w.(*writer).Direct() || oDirect(t, w) {
		t.Fatal("O_DIRECT still on after an unaligned write")
	}
	more := pattern(4096, 9) // aligned length at an unaligned offset: buffered
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	want = append(want, more...)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("cam/day/a.mp4")
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

// TestDirectRefused: where the filesystem refuses O_DIRECT (older
// kernels' tmpfs, some network filesystems) blobs are written through the
// page cache.
func TestDirectRefused(t *testing.T) {
	openFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		if flag&unix.O_DIRECT != 0 {
			return nil, &os.PathError{Op: "open", Path: name, Err: unix.EINVAL}
		}
		return os.OpenFile(name, flag, perm)
	}
	defer func() { openFile = os.OpenFile }()
	dir := t.TempDir()
	s, _ := New(dir)
	w, err := s.Create(context.Background(), "a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.(*writer).Direct() || oDirect(t, w) {
		t.Fatal("O_DIRECT on although the open with it failed")
	}
	b := bytes.Repeat([]byte{7}, 8192)
	if n, err := w.(blob.VecWriter).WriteVec([][]byte{b}); err != nil || n != 8192 {
		t.Fatalf("write: %d, %v", n, err)
	}
	if got, _ := os.ReadFile(dir + "/a.mp4"); !bytes.Equal(got, b) {
		t.Fatal("content differs")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
