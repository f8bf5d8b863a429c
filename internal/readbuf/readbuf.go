package ingest

import (
	"bufio"
	"net"
)

// readBufferSize is the read buffer under gortsplib's own 4 KiB one. A
// 4 Mbit/s camera sends ~500 KB/s: with 4 KiB reads that is ~125 read
// syscalls a second per camera, with 64 KiB about 8 (measured in
// BENCHMARKS.md).
const readBufferSize = 64 << 10

// bufferedListener hands out connections whose reads go through a large
// buffer.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// listenBuffered is gortsplib.Server.Listen with large read buffers.
func listenBuffered(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return bufferedListener{ln}, nil
}
