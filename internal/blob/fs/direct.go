package fs

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct I/O. A blob created by Create is opened with O_DIRECT where the
// filesystem allows it (ext4, xfs; not tmpfs): writes whose length is a
// multiple of directAlign, at offsets that are (every write so far was),
// are copied into a reused aligned buffer and written past the page cache.
// The kernel then neither copies them into page-cache pages nor has to
// write those back and drop them later, which halves the CPU cost of
// writing cold frame data (BENCHMARKS.md). The first write of any other
// length turns O_DIRECT off for that file (fcntl), so every caller still
// gets plain append semantics. Durability is unchanged: Sync and syncfs
// still flush metadata and the device's cache.

// directAlign is the alignment of O_DIRECT offsets, lengths and buffers
// (the logical block size of common disks is 512 or 4096).
const directAlign = 4096

// directBufs are aligned buffers reused across files: one per concurrent
// writer, bounded so idle ones are not kept.
var directBufs = make(chan []byte, 32)

// maxKeptDirectBuf bounds the size of a kept buffer.
const maxKeptDirectBuf = 8 << 20

func getDirectBuf(n int) []byte {
	select {
	case b := <-directBufs:
		if cap(b) >= n {
			return b[:n]
		}
	default:
	}
	c := (n + directAlign - 1) / directAlign * directAlign
	raw := make([]byte, c+directAlign)
	off := int(-uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1))
	return raw[off : off+n : off+c]
}

func putDirectBuf(b []byte) {
	if cap(b) > maxKeptDirectBuf {
		return
	}
	select {
	case directBufs <- b:
	default:
	}
}

// openFile is os.OpenFile (tests refuse O_DIRECT through it).
var openFile = os.OpenFile

// openDirect opens p for writing with O_DIRECT, or without it where the
// filesystem refuses it.
func openDirect(p string) (*os.File, bool, error) {
	f, err := openFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|unix.O_DIRECT, 0o640)
	if err == nil {
		return f, true, nil
	}
	f, err = openFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	return f, false, err
}

// writer is a blob being written.
type writer struct {
	file
	dir    string      // the directory holding the file
	named  atomic.Bool // the directory was synced since the file was created
	mu     sync.Mutex  // serializes writes
	direct atomic.Bool // still written with O_DIRECT
}

// Sync makes the data and the file's name durable.
func (w *writer) Sync() error {
	if err := w.File.Sync(); err != nil {
		return err
	}
	if !w.named.Load() {
		if err := syncDir(w.dir); err != nil {
			return err
		}
		w.named.Store(true)
	}
	return nil
}

// Write implements io.Writer.
func (w *writer) Write(b []byte) (int, error) {
	n, err := w.WriteVec([][]byte{b})
	return int(n), err
}

// WriteVec writes bufs in order: through the aligned buffer with O_DIRECT
// when their total length allows, else with writev.
func (w *writer) WriteVec(bufs [][]byte) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.direct.Load() {
		total := 0
		for _, b := range bufs {
			total += len(b)
		}
		if total%directAlign == 0 {
			return w.writeDirect(bufs, total)
		}
		if err := w.stopDirect(); err != nil {
			return 0, err
		}
	}
	return w.file.WriteVec(bufs)
}

func (w *writer) writeDirect(bufs [][]byte, total int) (int64, error) {
	buf := getDirectBuf(total)
	defer putDirectBuf(buf)
	p := 0
	for _, b := range bufs {
		p += copy(buf[p:], b)
	}
	var done int64
	for len(buf) > 0 {
		n, err := unix.Write(int(w.Fd()), buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, fmt.Errorf("direct write: %w", err)
		}
		if n <= 0 {
			return done, io.ErrShortWrite
		}
		done += int64(n)
		buf = buf[n:]
		if len(buf) > 0 && n%directAlign != 0 {
			// A short write that left the offset unaligned: finish
			// the rest through the page cache.
			if err := w.stopDirect(); err != nil {
				return done, err
			}
			m, err := w.file.WriteVec([][]byte{buf})
			return done + m, err
		}
	}
	return done, nil
}

// stopDirect turns O_DIRECT off for the rest of the file.
func (w *writer) stopDirect() error {
	fl, err := unix.FcntlInt(w.Fd(), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(w.Fd(), unix.F_SETFL, fl&^unix.O_DIRECT)
	}
	if err != nil {
		return fmt.Errorf("turn off O_DIRECT: %w", err)
	}
	w.direct.Store(false)
	return nil
}

// Direct reports whether the blob is still written past the page cache.
func (w *writer) Direct() bool { return w.direct.Load() }

// StartWriteback starts writeback of a buffered range; direct writes need
// none.
func (w *writer) StartWriteback(off, n int64) error {
	if w.Direct() {
		return nil
	}
	return w.file.StartWriteback(off, n)
}

// DropCache drops a durable range from the page cache; direct writes left
// nothing there.
func (w *writer) DropCache(off, n int64) error {
	if w.Direct() {
		return nil
	}
	return w.file.DropCache(off, n)
}
