package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxy is a test-owned TCP proxy on 127.0.0.1 that stands for a site's
// uplink: Cut drops every live connection and refuses new ones (accepts
// and closes them at once), Restore forwards again. It counts the bytes
// each way. The target may change (a restarted hub listens elsewhere).
type proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	cut    bool
	conns  map[net.Conn]struct{}
	closed bool

	up, down atomic.Int64 // bytes client→target, target→client
	wg       sync.WaitGroup
}

// startProxy listens on 127.0.0.1:0 and forwards to target; the test's
// cleanup closes it and waits for its goroutines.
func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every live connection and refuses new ones until Restore.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore forwards new connections again.
func (p *proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// SetTarget forwards new connections to target (live ones keep theirs).
func (p *proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Bytes returns the bytes forwarded client→target (up) and back (down).
func (p *proxy) Bytes() (up, down int64) { return p.up.Load(), p.down.Load() }

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target, refuse := p.target, p.cut || p.closed
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c, target)
	}
}

// serve connects c to target and copies both ways until either side ends
// or Cut closes both.
func (p *proxy) serve(c net.Conn, target string) {
	defer p.wg.Done()
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, u) {
		return
	}
	var pair sync.WaitGroup
	pair.Add(2)
	go func() { defer pair.Done(); p.pipe(u, c, &p.up) }()
	go func() { defer pair.Done(); p.pipe(c, u, &p.down) }()
	pair.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// track registers a connected pair, or closes it when the proxy was cut
// (or closed) while dialling.
func (p *proxy) track(c, u net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		c.Close()
		u.Close()
		return false
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	return true
}

// pipe copies src to dst, counting into n; at the end it closes both, so
// the other direction ends too.
func (p *proxy) pipe(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
			n.Add(int64(k))
		}
		if err != nil {
			break
		}
	}
	src.Close()
	dst.Close()
}

// The proxy forwards both ways and counts; Cut ends live connections and
// refuses new ones; Restore forwards again; SetTarget moves new ones.
func TestGatewayProxy(t *testing.T) {
	echo := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() { defer wg.Done(); io.Copy(c, c); c.Close() }()
			}
		}()
		return ln.Addr().String()
	}
	roundTrip := func(addr string, msg []byte) error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if !bytes.Equal(got, msg) {
			return errors.New("echo differs")
		}
		return nil
	}
	p := startProxy(t, echo(t))
	msg := bytes.Repeat([]byte("vigil"), 20000)
	if err := roundTrip(p.Addr(), msg); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if up, down := p.Bytes(); up != int64(len(msg)) || down != int64(len(msg)) {
		t.Errorf("counted up %d down %d, want %d each", up, down, len(msg))
	}

	// A live connection ends at Cut.
	live, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	live.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(live, make([]byte, 1)); err != nil {
		t.Fatalf("live connection before the cut: %v", err)
	}
	p.Cut()
	live.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := live.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("live connection after Cut: read %d, %v; want it closed", n, err)
	}
	if err := roundTrip(p.Addr(), []byte("refused")); err == nil {
		t.Fatal("a new connection was forwarded while cut")
	}
	p.Restore()
	if err := roundTrip(p.Addr(), []byte("again")); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
	p.SetTarget(echo(t))
	if err := roundTrip(p.Addr(), []byte("moved")); err != nil {
		t.Fatalf("after SetTarget: %v", err)
	}
}
