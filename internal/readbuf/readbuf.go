// Package readbuf gives gortsplib's connections a large read buffer under
// its own 4 KiB one and coalesces the read deadlines it moves before every
// interleaved frame: the hub's RTSP server (Listen) and every RTSP pull
// (DialContext) read through it.
package readbuf

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"time"
)

// readBufferSize is the read buffer under gortsplib's own 4 KiB one. A
// 4 Mbit/s camera sends ~500 KB/s: with 4 KiB reads that is ~125 read
// syscalls a second per camera, with 64 KiB about 8 (measured in
// BENCHMARKS.md).
const readBufferSize = 64 << 10

// Wrap returns c with a large read buffer and coalesced read deadlines.
func Wrap(c net.Conn) net.Conn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}
}

// DialContext is net.Dialer.DialContext returning a wrapped connection,
// for gortsplib.Client.DialContext.
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// bufferedListener hands out connections whose reads go through a large
// buffer.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

type bufferedConn struct {
	net.Conn
	r        *bufio.Reader
	deadline atomic.Int64 // the read deadline last passed on (Unix ns; 0: none)
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// deadlineSlack is how far a later read deadline may be from the one in
// force before it is passed on. gortsplib moves the read deadline before
// every interleaved frame it reads (hundreds of times a second per
// camera); passing on only moves of a second or more, and every move
// earlier, keeps the timeout within a second of what was asked (a 10 s
// read timeout fires after 9-10 s of silence) at a fraction of the cost.
const deadlineSlack = time.Second

func (c *bufferedConn) SetReadDeadline(t time.Time) error {
	next := unixNano(t)
	if cur := c.deadline.Load(); next != 0 && cur != 0 && next >= cur && next-cur < int64(deadlineSlack) {
		return nil
	}
	c.deadline.Store(next)
	return c.Conn.SetReadDeadline(t)
}

func (c *bufferedConn) SetDeadline(t time.Time) error {
	c.deadline.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Listen is net.Listen handing out wrapped connections, for
// gortsplib.Server.Listen.
func Listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return bufferedListener{ln}, nil
}
