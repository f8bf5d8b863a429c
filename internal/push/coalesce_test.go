package push

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// recConn is a net.Conn that records what is written to it, counting
// Writes; failWith makes its Writes fail.
type recConn struct {
	net.Conn // nil: only Write and Close are used
	mu       sync.Mutex
	buf      bytes.Buffer
	writes   int
	failWith error
	closed   bool
}

func (r *recConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, net.ErrClosed
	}
	if r.failWith != nil {
		return 0, r.failWith
	}
	r.writes++
	return r.buf.Write(p)
}

func (r *recConn) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

func (r *recConn) SetWriteDeadline(time.Time) error { return nil }

func (r *recConn) state() (data []byte, writes int, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes()), r.writes, r.closed
}

// stopped fails the test unless c's flusher has returned.
func stopped(t *testing.T, c *coalescer) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("flusher still running after Close")
	}
}

func TestCoalescerConcurrentWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		limit int
	}{
		{"short delay", 100 * time.Microsecond, 4096},
		{"flushes when full", time.Hour, 4096},
		{"default", coalesceDelay, coalesceBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const writers, msgs = 8, 500
			under := &recConn{}
			c := newCoalescer(under, tc.delay, tc.limit)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					msg := make([]byte, 100+w*150) // some over the limit together
					for i := range msgs {
						binary.BigEndian.PutUint32(msg, uint32(w))
						binary.BigEndian.PutUint32(msg[4:], uint32(i))
						binary.BigEndian.PutUint32(msg[8:], uint32(len(msg)))
						if _, err := c.Write(msg); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			stopped(t, c)
			data, writes, closed := under.state()
			if !closed {
				t.Error("underlying connection not closed")
			}
			next := make([]uint32, writers)
			total := len(data)
			for len(data) > 0 {
				if len(data) < 12 {
					t.Fatalf("%d stray bytes at the end", len(data))
				}
				w, i, n := binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]), binary.BigEndian.Uint32(data[8:])
				if w >= writers || i != next[w] || n != uint32(100+w*150) {
					t.Fatalf("got message %d of writer %d (length %d), want message %d", i, w, n, next[w])
				}
				next[w]++
				data = data[n:]
			}
			for w, n := range next {
				if n != msgs {
					t.Errorf("writer %d: %d messages arrived, want %d", w, n, msgs)
				}
			}
			if tc.delay == time.Hour && writes > total/tc.limit+1 { // only full buffers, then Close
				t.Errorf("%d underlying writes of %d bytes, want at most %d", writes, total, total/tc.limit+1)
			}
		})
	}
}

func TestCoalescerOneWritePerFrame(t *testing.T) {
	under := &recConn{}
	c := newCoalescer(under, time.Hour, coalesceBytes) // only Close or a full buffer flush
	pkt := bytes.Repeat([]byte{0x24}, 1404)
	for range 15 { // one 4 Mbit/s frame
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	if _, writes, _ := under.state(); writes != 0 {
		t.Fatalf("%d writes before the delay or a full buffer", writes)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, writes, _ := under.state()
	if writes != 1 || len(data) != 15*1404 {
		t.Fatalf("Close flushed %d bytes in %d writes, want %d in 1", len(data), writes, 15*1404)
	}
	stopped(t, c)
}

func TestCoalescerFlushesFullBuffer(t *testing.T) {
	under := &recConn{}
	c := newCoalescer(under, time.Hour, 4096)
	defer c.Close()
	if _, err := c.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the full buffer written", func() bool {
		data, _, _ := under.state()
		return len(data) == 4096
	})
}

func TestCoalescerFlushesAfterDelay(t *testing.T) {
	under := &recConn{}
	c := newCoalescer(under, time.Millisecond, coalesceBytes)
	defer c.Close()
	if _, err := c.Write([]byte("OPTIONS")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the buffered bytes written", func() bool {
		data, _, _ := under.state()
		return string(data) == "OPTIONS"
	})
}

func TestCoalescerWriteError(t *testing.T) {
	errBroken := errors.New("broken pipe")
	under := &recConn{failWith: errBroken}
	c := newCoalescer(under, 100*time.Microsecond, coalesceBytes)
	if _, err := c.Write([]byte("first")); err != nil {
		t.Fatalf("first Write: %v (it only buffers)", err)
	}
	stopped(t, c) // the flusher returns after the error
	if _, err := c.Write([]byte("second")); !errors.Is(err, errBroken) {
		t.Errorf("Write after the error: %v, want %v", err, errBroken)
	}
	if err := c.Close(); !errors.Is(err, errBroken) {
		t.Errorf("Close: %v, want %v", err, errBroken)
	}
	if _, _, closed := under.state(); !closed {
		t.Error("underlying connection not closed")
	}
	if _, err := c.Write([]byte("third")); !errors.Is(err, errBroken) {
		t.Errorf("Write after Close: %v, want %v", err, errBroken)
	}
}

func TestCoalescerClosed(t *testing.T) {
	under := &recConn{}
	c := newCoalescer(under, time.Hour, coalesceBytes)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	stopped(t, c)
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
}

// A server that reads nothing: the write deadline ends the flusher's write
// and bounds Writes waiting for room; the timeout is kept.
func TestCoalescerWriteDeadline(t *testing.T) {
	client, server := net.Pipe() // synchronous: nothing is written until read
	defer server.Close()
	c := newCoalescer(client, time.Hour, 1024)
	if err := c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, 1024)); err != nil { // full: the flusher writes, and blocks
		t.Fatal(err)
	}
	var err error
	for err == nil { // fills the other buffer, then waits for room
		_, err = c.Write(make([]byte, 512))
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write: %v, want a timeout", err)
	}
	stopped(t, c)
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write after the flusher's timeout: %v, want it", err)
	}
	if err := c.Close(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Close: %v, want the timeout", err)
	}
}

func TestCoalescerReadAndShrink(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	c := newCoalescer(client, 100*time.Microsecond, 1024)
	go func() { _, _ = server.Write([]byte("RTSP/1.0 200 OK")) }()
	got := make([]byte, 15)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "RTSP/1.0 200 OK" {
		t.Fatalf("Read: %q, %v", got, err)
	}
	huge := make([]byte, 4*coalesceKeep)
	if _, err := c.Write(huge); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, huge); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the flusher done with the huge buffer", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.spare != nil
	})
	c.mu.Lock()
	spare, buf := cap(c.spare), cap(c.buf)
	c.mu.Unlock()
	if spare > coalesceKeep || buf > coalesceKeep {
		t.Errorf("buffers of %d and %d bytes kept, want at most %d", spare, buf, coalesceKeep)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	stopped(t, c)
}

func TestClientTLS(t *testing.T) {
	base := &tls.Config{MinVersion: tls.VersionTLS13}
	named := &tls.Config{ServerName: "hub.example"}
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		addr string
		want string
	}{
		{"nil config", nil, "hub.local:8322", "hub.local"},
		{"from host", base, "10.0.0.5:8322", "10.0.0.5"},
		{"ipv6", base, "[::1]:8322", "::1"},
		{"kept", named, "10.0.0.5:8322", "hub.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := clientTLS(tc.cfg, tc.addr)
			if got.ServerName != tc.want {
				t.Errorf("ServerName %q, want %q", got.ServerName, tc.want)
			}
			if got == tc.cfg {
				t.Error("config not cloned")
			}
		})
	}
	if base.ServerName != "" {
		t.Error("caller's config modified")
	}
}
