// Package fs stores blobs as files under a root directory.
package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigil-video/vigil/internal/blob"
)

// Store keeps blobs under Root.
type Store struct {
	root string
}

var _ blob.Store = (*Store)(nil)

// New returns a store rooted at dir, creating it.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create blob root: %w", err)
	}
	return &Store{root: dir}, nil
}

// Root returns the directory the store writes under.
func (s *Store) Root() string { return s.root }

// Path maps a key to its file path, refusing keys that escape the root.
func (s *Store) Path(key string) (string, error) {
	clean := path.Clean("/" + key)
	if key == "" || clean != "/"+key || strings.Contains(key, "\\") {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

type file struct{ *os.File }

func (f file) Size() int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// Create implements blob.Store. Parent directories are created. The new
// name is made durable by the blob's first Sync or by SyncAll, not here:
// a directory fsync per file would put a journal commit on the path of
// every segment opened (hundreds at once when cameras reconnect). The blob
// is written with O_DIRECT where possible (see direct.go).
func (s *Store) Create(_ context.Context, key string) (blob.Writer, error) {
	p, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create blob dir: %w", err)
	}
	f, direct, err := openDirect(p)
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	w := &writer{file: file{f}, dir: dir}
	w.direct.Store(direct)
	return w, nil
}

// syncDir fsyncs a directory (a variable so tests can count the calls).
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// Open implements blob.Store.
func (s *Store) Open(_ context.Context, key string) (blob.ReadAtCloser, error) {
	p, err := s.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return file{f}, nil
}

// Truncate implements blob.Store.
func (s *Store) Truncate(_ context.Context, key string, size int64) error {
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("truncate blob %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("truncate blob: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync truncated blob: %w", err)
	}
	return nil
}

// Delete implements blob.Store. Empty parent directories are removed.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.Path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements blob.Store.
func (s *Store) List(ctx context.Context, fn func(key string, size int64) error) error {
	return filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), info.Size())
	})
}

// SyncAll makes every write to files under the root durable with a single
// syncfs(2) call: the group commit used by the recorder.
func (s *Store) SyncAll() error {
	d, err := os.Open(s.root)
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}

// Rename moves a blob to another key (used to quarantine unreadable files).
func (s *Store) Rename(_ context.Context, from, to string) error {
	src, err := s.Path(from)
	if err != nil {
		return err
	}
	dst, err := s.Path(to)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("rename blob: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("rename blob: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}
