package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// gortsplib writes every RTP packet (at most ~1.4 kB) with its own Write:
// over TLS each becomes a record and a write(2). A coalescer gathers one
// frame's packets, written back to back, into one Write of the connection.
const (
	// coalesceDelay is how long the first buffered byte waits for more
	// before the buffer is written.
	coalesceDelay = 2 * time.Millisecond
	// coalesceBytes is the buffer size that is written at once; past it
	// Writes wait for the buffer being written.
	coalesceBytes = 64 << 10
	// coalesceKeep is the largest buffer kept for reuse: one that a huge
	// Write grew beyond it is dropped once written.
	coalesceKeep = 128 << 10
)

// coalescer is a net.Conn whose Writes are buffered and written to the
// underlying connection by a flusher goroutine, coalesceDelay after the
// first buffered byte or at once when coalesceBytes are buffered. Two
// buffers alternate: Writes fill one while the flusher writes the other.
// The first write error is kept: later Writes and Close return it. Read
// and the addresses are the underlying connection's; deadlines are set on
// it (so a write deadline bounds the flusher's writes) and the write
// deadline also bounds a Write waiting for room. Close writes what is
// buffered, closes the connection and stops the flusher.
type coalescer struct {
	net.Conn
	delay time.Duration
	limit int

	mu       sync.Mutex
	buf      []byte    // buffered bytes
	spare    []byte    // the other buffer; nil while the flusher writes it
	first    time.Time // when buf got its first byte
	err      error     // first write error
	closed   bool
	deadline time.Time     // write deadline
	waiters  int           // Writes waiting for room
	changed  chan struct{} // closed (then replaced) to wake waiters

	kick chan struct{} // capacity 1: buf got its first byte, or is full
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the flusher returns
}

// newCoalescer wraps c; the returned connection's Close stops its flusher.
func newCoalescer(c net.Conn, delay time.Duration, limit int) *coalescer {
	cc := &coalescer{
		Conn: c, delay: delay, limit: limit,
		buf: make([]byte, 0, limit+limit/8), spare: make([]byte, 0, limit+limit/8),
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go cc.flushLoop()
	return cc
}

// Write buffers p. It waits while the buffer is full, up to the write
// deadline.
func (c *coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	for len(c.buf) >= c.limit {
		if err := c.usable(); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		ch, deadline := c.changed, c.deadline
		c.waiters++
		c.mu.Unlock()
		err := waitChange(ch, deadline)
		c.mu.Lock()
		c.waiters--
		if err != nil {
			c.mu.Unlock()
			return 0, err
		}
	}
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	if len(c.buf) == 0 {
		c.first = time.Now()
		c.poke()
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= c.limit {
		c.poke()
	}
	c.mu.Unlock()
	return len(p), nil
}

// usable returns why nothing more can be written; c.mu held.
func (c *coalescer) usable() error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return net.ErrClosed
	}
	return nil
}

// poke wakes the flusher; c.mu held.
func (c *coalescer) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// wake wakes the Writes waiting for room; c.mu held.
func (c *coalescer) wake() {
	if c.waiters > 0 {
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// waitChange waits for ch to close, or until deadline (zero: none).
func waitChange(ch <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		<-ch
		return nil
	}
	d := time.Until(deadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return os.ErrDeadlineExceeded
	}
}

// flushLoop writes the buffer when it is old or full enough, until Close
// or a write error.
func (c *coalescer) flushLoop() {
	defer close(c.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		for {
			c.mu.Lock()
			n, wait := len(c.buf), c.delay-time.Since(c.first)
			c.mu.Unlock()
			if n == 0 {
				break
			}
			if n < c.limit && wait > 0 {
				t.Reset(wait)
				select {
				case <-t.C:
				case <-c.kick: // full, or stale: look again
					t.Stop()
				case <-c.quit:
					t.Stop()
					return
				}
				continue
			}
			if !c.flush() {
				return
			}
		}
	}
}

// flush writes the buffer, swapping in the spare one meanwhile. It
// reports false after a write error.
func (c *coalescer) flush() bool {
	c.mu.Lock()
	b := c.buf
	c.buf, c.spare = c.spare[:0], nil
	c.wake()
	c.mu.Unlock()

	_, err := c.Conn.Write(b)

	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(b) > coalesceKeep {
		b = make([]byte, 0, c.limit+c.limit/8)
	}
	c.spare = b[:0]
	if err != nil {
		if c.err == nil {
			c.err = err
		}
		c.wake()
		return false
	}
	return true
}

// SetDeadline sets the underlying connection's deadlines; the write
// deadline also bounds Writes waiting for room.
func (c *coalescer) SetDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

// SetWriteDeadline sets the underlying connection's write deadline (it
// bounds the flusher's writes); it also bounds Writes waiting for room.
func (c *coalescer) SetWriteDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *coalescer) setWriteDeadline(t time.Time) {
	c.mu.Lock()
	c.deadline = t
	c.wake()
	c.mu.Unlock()
}

// Close writes what is buffered (bounded by the write deadline), closes
// the connection and stops the flusher. It returns the first write error,
// if any.
func (c *coalescer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	close(c.quit)
	c.wake()
	c.mu.Unlock()
	<-c.done // after the write in progress, if any

	c.mu.Lock()
	b, err := c.buf, c.err
	c.buf, c.spare = nil, nil
	c.mu.Unlock()
	if err == nil && len(b) > 0 {
		if _, werr := c.Conn.Write(b); werr != nil {
			err = fmt.Errorf("flush on close: %w", werr)
		}
	}
	return errors.Join(err, c.Conn.Close())
}

// dialTCP dials addr through cs, its Writes coalesced (plain rtsp://).
func (cs *conns) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := cs.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return newCoalescer(raw, coalesceDelay, coalesceBytes), nil
}

// dialTLS returns a dialer for rtsps:// that dials through cs, completes
// the TLS handshake with a clone of cfg (ServerName from addr when
// empty), bounded by ctx and Run's context, and coalesces its Writes.
func (cs *conns) dialTLS(cfg *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := cs.dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := clientTLS(cfg, addr)
		conn := tls.Client(raw, tc)
		hctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(cs.run, cancel)
		defer stop()
		if err := conn.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		return newCoalescer(conn, coalesceDelay, coalesceBytes), nil
	}
}

// clientTLS clones cfg (nil: the defaults) and names the server from addr
// when cfg does not, as gortsplib and net/http do.
func clientTLS(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	return cfg
}
