package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		op      string // take, reset
		wantOK  bool
		wantRA  time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"five then refused", []step{
			{op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: false, wantRA: 12 * time.Second},
		}},
		{"refill after 12s", []step{
			{op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{advance: 6 * time.Second, op: "take", wantOK: false, wantRA: 6 * time.Second},
			{advance: 6 * time.Second, op: "take", wantOK: true},
			{op: "take", wantOK: false, wantRA: 12 * time.Second},
		}},
		{"reset gives all back", []step{
			{op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "reset"},
			{op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: false, wantRA: 12 * time.Second},
		}},
		{"full refill after a minute", []step{
			{op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{advance: time.Hour, op: "take", wantOK: true}, {op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: true}, {op: "take", wantOK: true},
			{op: "take", wantOK: false, wantRA: 12 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			l := newLimiter(5, time.Minute, 100, clk.Now)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if s.op == "reset" {
					l.reset("k")
					continue
				}
				ok, ra := l.take("k")
				if ok != s.wantOK || ra != s.wantRA {
					t.Fatalf("step %d: take = %v, %v; want %v, %v", i, ok, ra, s.wantOK, s.wantRA)
				}
			}
			if ok, _ := l.take("other"); !ok {
				t.Fatal("keys must be independent")
			}
		})
	}
}

func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := newLimiter(5, time.Minute, 10, clk.Now)
	for i := range 100 {
		l.take(fmt.Sprint(i))
	}
	if n := l.size(); n > 10 {
		t.Fatalf("size = %d, want <= 10", n)
	}
	clk.Advance(time.Hour)
	l.prune()
	if n := l.size(); n != 0 {
		t.Fatalf("after prune size = %d", n)
	}
}

func TestRateLimitError(t *testing.T) {
	t.Parallel()
	var err error = &RateLimitError{RetryAfter: 12 * time.Second}
	if !errors.Is(err, ErrRateLimited) {
		t.Fatal("not ErrRateLimited")
	}
	if err.Error() != "too many failed logins; retry in 12s" {
		t.Fatal(err)
	}
}
