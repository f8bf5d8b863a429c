package gateways

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	tests := []struct {
		name      string
		fails     int
		wait      time.Duration
		allowed   bool
		retryWant time.Duration
	}{
		{"fresh", 0, 0, true, 0},
		{"under burst", 3, 0, true, 0},
		{"at burst", 4, 0, false, 15 * time.Second},
		{"partly refilled", 4, 5 * time.Second, false, 10 * time.Second},
		{"refilled one", 4, 15 * time.Second, true, 0},
		{"far over burst", 40, 0, false, 15 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			l := newLimiter(4, time.Minute, 100, func() time.Time { return now })
			for range tc.fails {
				l.fail("1.2.3.4")
			}
			now = now.Add(tc.wait)
			ok, retry := l.allow("1.2.3.4")
			if ok != tc.allowed || retry != tc.retryWant {
				t.Fatalf("allow = %v %v, want %v %v", ok, retry, tc.allowed, tc.retryWant)
			}
			if ok, _ := l.allow("5.6.7.8"); !ok {
				t.Fatal("another address is limited")
			}
		})
	}
}

// TestLimiterBounded: a flood of addresses never holds more than maxKeys.
func TestLimiterBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(4, time.Minute, 50, func() time.Time { return now })
	for i := range 1000 {
		l.fail(fmt.Sprint("10.0.", i/256, ".", i%256))
	}
	if n := len(l.fails); n > 50 {
		t.Fatalf("%d addresses tracked, bound 50", n)
	}
}
