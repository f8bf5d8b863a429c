package readbuf

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// deadlineConn records the read deadlines passed on to it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error { c.set = append(c.set, t); return nil }
func (c *deadlineConn) SetDeadline(t time.Time) error     { c.set = append(c.set, t); return nil }

func TestReadDeadlineMovesOnlyBySlack(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	cases := []struct {
		name string
		at   time.Time
		pass bool
	}{
		{"first", base, true},
		{"a little later", base.Add(300 * time.Millisecond), false},
		{"still within the slack", base.Add(999 * time.Millisecond), false},
		{"a second later", base.Add(time.Second), true},
		{"earlier", base.Add(500 * time.Millisecond), true},
		{"the same", base.Add(500 * time.Millisecond), false},
		{"cleared", time.Time{}, true},
		{"after a clear", base, true},
	}
	fc := &deadlineConn{}
	c := &bufferedConn{Conn: fc}
	for _, tc := range cases {
		n := len(fc.set)
		if err := c.SetReadDeadline(tc.at); err != nil {
			t.Fatal(err)
		}
		if passed := len(fc.set) > n; passed != tc.pass {
			t.Fatalf("%s: passed on %v, want %v", tc.name, passed, tc.pass)
		}
		if tc.pass && !fc.set[len(fc.set)-1].Equal(tc.at) {
			t.Fatalf("%s: passed on %v, want %v", tc.name, fc.set[len(fc.set)-1], tc.at)
		}
	}
	if err := c.SetDeadline(base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(base); err != nil || !fc.set[len(fc.set)-1].Equal(base) {
		t.Fatal("a read deadline earlier than SetDeadline's was not passed on")
	}
}

// A real connection still times out, within the slack of what was asked.
func TestReadDeadlineStillTimesOut(t *testing.T) {
	ln, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for i := range 5 { // a reader that moves its deadline on every read
		if err := c.SetReadDeadline(start.Add(200*time.Millisecond + time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a deadline error", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond-deadlineSlack || waited > 10*time.Second {
		t.Fatalf("timed out after %v", waited)
	}
}
