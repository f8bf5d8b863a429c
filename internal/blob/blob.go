// Package blob is the segment byte store: named, append-only files addressed
// by a slash-separated key. Backends live in subpackages (blob/fs now,
// blob/s3 later).
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned (wrapped) for a key that does not exist.
var ErrNotFound = errors.New("blob not found")

// Writer appends to a blob being recorded.
type Writer interface {
	io.Writer
	// Sync makes everything written so far durable.
	Sync() error
	// Close releases the writer (it does not sync).
	Close() error
}

// VecWriter is implemented by writers that can write several buffers in one
// system call (writev). Callers must not reuse bufs' backing arrays until
// it returns; the slice itself may be modified.
type VecWriter interface {
	WriteVec(bufs [][]byte) (int64, error)
}

// ReadAtCloser is an open blob for random reads.
type ReadAtCloser interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Store is a blob backend.
type Store interface {
	// Create makes a new empty blob (truncating any existing one).
	Create(ctx context.Context, key string) (Writer, error)
	// Open opens a blob for reading.
	Open(ctx context.Context, key string) (ReadAtCloser, error)
	// Truncate cuts a blob to size bytes (crash recovery).
	Truncate(ctx context.Context, key string, size int64) error
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every blob key (startup reconciliation only).
	List(ctx context.Context, fn func(key string, size int64) error) error
}
