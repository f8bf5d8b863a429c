package fs

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// maxIovec is the most buffers one writev call takes (IOV_MAX is 1024).
const maxIovec = 1024

// WriteVec writes bufs in order with as few writev(2) calls as possible.
func (f file) WriteVec(bufs [][]byte) (int64, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("writev: %w", err)
	}
	var total int64
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		total, werr = writevAll(int(fd), bufs)
		return true
	})
	if err != nil {
		return total, fmt.Errorf("writev: %w", err)
	}
	if werr != nil {
		return total, fmt.Errorf("writev: %w", werr)
	}
	return total, nil
}

func writevAll(fd int, bufs [][]byte) (int64, error) {
	var total int64
	// Skip empty buffers up front so a zero-length write never loops.
	for len(bufs) > 0 {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			break
		}
		n, err := unix.Writev(fd, bufs[:min(len(bufs), maxIovec)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
		total += int64(n)
		for n > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
				continue
			}
			bufs[0] = bufs[0][n:]
			n = 0
		}
	}
	return total, nil
}

// DropCache tells the kernel that bytes [off, off+n) are durable and will
// not be read soon, so their pages can leave the page cache now instead of
// being reclaimed later under memory pressure.
func (f file) DropCache(off, n int64) error {
	if err := unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise: %w", err)
	}
	return nil
}

// StartWriteback asks the kernel to start writing [off, off+n) to disk now
// (sync_file_range WRITE, which does not wait), so the next group commit
// finds little left to flush and writes go out smoothly instead of in bursts.
func (f file) StartWriteback(off, n int64) error {
	if err := unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE); err != nil {
		return fmt.Errorf("sync_file_range: %w", err)
	}
	return nil
}
