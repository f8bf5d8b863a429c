package depacket

import (
	"errors"
	"sync"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// ErrReplaced is reported by a StreamSink whose stream was taken over by
// another publisher.
var ErrReplaced = errors.New("another publisher took over the stream")

// StreamSink is the Sink that publishes into a stream.Stream: each Tracks
// call starts a publish session, units are written to it. Fail, a write
// refused because another publisher took over, or Close, end it; Done is
// closed then and Err says why.
type StreamSink struct {
	st *stream.Stream

	mu     sync.Mutex
	pub    *stream.Publisher
	closed bool
	err    error
	done   chan struct{}
}

var _ Sink = (*StreamSink)(nil)

// NewStreamSink returns a sink publishing into st.
func NewStreamSink(st *stream.Stream) *StreamSink {
	return &StreamSink{st: st, done: make(chan struct{})}
}

// Tracks implements Sink.
func (k *StreamSink) Tracks(tracks []media.Track) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.pub = k.st.Publish(tracks)
}

// Unit implements Sink.
func (k *StreamSink) Unit(au *media.AccessUnit) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || k.pub == nil {
		return
	}
	if err := k.pub.Write(au); err != nil {
		k.endLocked(ErrReplaced)
	}
}

// Fail implements Sink.
func (k *StreamSink) Fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.endLocked(err)
}

// Close ends the publish session, if any. It is idempotent.
func (k *StreamSink) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.endLocked(nil)
}

func (k *StreamSink) endLocked(err error) {
	if k.closed {
		return
	}
	k.closed, k.err = true, err
	if k.pub != nil {
		k.pub.Close()
	}
	close(k.done)
}

// Done is closed when the sink ended (Fail, takeover or Close).
func (k *StreamSink) Done() <-chan struct{} { return k.done }

// Err returns why the sink ended: nil after Close, the Fail error, or
// ErrReplaced.
func (k *StreamSink) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// Publishing reports whether a publish session is open.
func (k *StreamSink) Publishing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pub != nil && !k.closed
}
