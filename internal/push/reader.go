package push

import (
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// reader is the push's stream reader: a bounded Queue whose drops are
// added to Stats as they happen. Its methods run on the publisher's
// goroutine, serialised by the stream, and never block.
type reader struct {
	q     *stream.Queue
	stats *Stats
}

var _ stream.Reader = (*reader)(nil)

// Begin implements stream.Reader.
func (r *reader) Begin(tracks []media.Track) { r.count(func() { r.q.Begin(tracks) }) }

// Write implements stream.Reader.
func (r *reader) Write(au *media.AccessUnit) { r.count(func() { r.q.Write(au) }) }

// End implements stream.Reader.
func (r *reader) End() { r.count(func() { r.q.End() }) }

// Dropped returns the units the queue dropped (the stream's stats sum it).
func (r *reader) Dropped() uint64 { return r.q.Dropped() }

// count runs fn and adds the units the queue dropped meanwhile.
func (r *reader) count(fn func()) {
	before := r.q.Dropped()
	fn()
	if d := r.q.Dropped() - before; d > 0 {
		r.stats.Dropped.Add(int64(d)) //nolint:gosec // a handful of units
	}
}
