package tcpproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// The proxy forwards both ways and counts; Cut ends live connections and
// refuses new ones; Restore forwards again; SetTarget moves new ones.
func TestProxy(t *testing.T) {
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
	p, err := Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
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
