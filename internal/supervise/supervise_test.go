package supervise

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manual clock: Sleep advances it and records the pause.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

// script returns a worker that runs each step in turn (advancing the clock
// by its duration and returning its error), then cancels ctx.
type step struct {
	run time.Duration
	err error
}

func script(clock *fakeClock, cancel context.CancelFunc, steps []step) Func {
	i := 0
	return func(ctx context.Context) error {
		if i >= len(steps) {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		s := steps[i]
		i++
		clock.now = clock.now.Add(s.run)
		return s.err
	}
}

func fail(n int, run time.Duration) []step {
	steps := make([]step, n)
	for i := range steps {
		steps[i] = step{run: run, err: errors.New("connection refused")}
	}
	return steps
}

func TestBackoffSequence(t *testing.T) {
	errX := errors.New("x")
	tests := []struct {
		name  string
		opts  Options
		steps []step
		want  []time.Duration
	}{
		{
			name:  "defaults double up to the cap",
			opts:  Options{Backoff: Backoff{Jitter: JitterNone}},
			steps: fail(8, time.Second),
			want:  scale([]time.Duration{1, 2, 4, 8, 16, 30, 30, 30}, time.Second),
		},
		{
			name:  "custom min max factor",
			opts:  Options{Backoff: Backoff{Min: 100 * time.Millisecond, Max: time.Second, Factor: 3, Jitter: JitterNone}},
			steps: fail(4, 0),
			want:  []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond, time.Second},
		},
		{
			name: "healthy run resets the backoff",
			opts: Options{Backoff: Backoff{Jitter: JitterNone, Healthy: 10 * time.Second}},
			steps: []step{
				{time.Second, errX}, {time.Second, errX}, {time.Second, errX},
				{11 * time.Second, errX}, {time.Second, errX},
			},
			want: scale([]time.Duration{1, 2, 4, 1, 2}, time.Second),
		},
		{
			name:  "nil return restarts too",
			opts:  Options{Backoff: Backoff{Jitter: JitterNone}},
			steps: []step{{time.Second, nil}, {time.Second, nil}},
			want:  scale([]time.Duration{1, 2}, time.Second),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			clock := &fakeClock{now: time.Unix(1000, 0)}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := tt.opts
			opts.Now, opts.Sleep = clock.Now, clock.Sleep
			err := Run(ctx, slog.New(slog.DiscardHandler), "w", opts, script(clock, cancel, tt.steps))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !equalDurations(clock.sleeps, want) {
				t.Fatalf("pauses = %v, want %v", clock.sleeps, want)
			}
		})
	}
}

func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d * unit
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJitterBounds(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 8 * time.Second}.withDefaults()
	tests := []struct {
		name     string
		jitter   Jitter
		rnd      func(int64) int64
		failures int
		want     time.Duration
	}{
		{"equal low", JitterEqual, func(int64) int64 { return 0 }, 3, 2 * time.Second},
		{"equal high", JitterEqual, func(n int64) int64 { return n - 1 }, 3, 4*time.Second - 1},
		{"full low", JitterFull, func(int64) int64 { return 0 }, 3, 0},
		{"full high", JitterFull, func(n int64) int64 { return n - 1 }, 3, 4*time.Second - 1},
		{"none", JitterNone, func(int64) int64 { return 0 }, 3, 4 * time.Second},
		{"capped", JitterNone, nil, 50, 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := b
			b.Jitter = tt.jitter
			if got := b.pause(tt.failures, tt.rnd); got != tt.want {
				t.Fatalf("pause = %v, want %v", got, tt.want)
			}
		})
	}
	// The default random source stays within bounds.
	b.Jitter = JitterEqual
	for range 1000 {
		if d := b.pause(2, randN); d < time.Second || d >= 2*time.Second {
			t.Fatalf("equal jitter pause %v out of [1s, 2s)", d)
		}
	}
}

func TestPermanentStops(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bad := errors.New("invalid url")
	steps := []step{{time.Second, errors.New("boom")}, {time.Second, Permanent(bad)}}
	err := Run(ctx, slog.New(slog.DiscardHandler), "w",
		Options{Now: clock.Now, Sleep: clock.Sleep}, script(clock, cancel, steps))
	if !errors.Is(err, bad) {
		t.Fatalf("Run = %v, want %v", err, bad)
	}
	if len(clock.sleeps) != 1 {
		t.Fatalf("pauses = %v, want one", clock.sleeps)
	}
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
}

func TestStatesReported(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var states []State
	opts := Options{
		Backoff: Backoff{Jitter: JitterNone},
		Now:     clock.Now, Sleep: clock.Sleep,
		OnState: func(s State) { states = append(states, s) },
	}
	errA := errors.New("a")
	_ = Run(ctx, slog.New(slog.DiscardHandler), "w", opts, script(clock, cancel, []step{{time.Second, errA}}))
	// start, failure, start (then cancelled: no failure state).
	if len(states) != 3 {
		t.Fatalf("states = %+v, want 3", states)
	}
	if !states[0].Running || states[1].Running || !errors.Is(states[1].Err, errA) || !states[2].Running {
		t.Fatalf("unexpected states %+v", states)
	}
	if states[1].Failures != 1 || !states[1].Retry.Equal(time.Unix(2, 0)) {
		t.Fatalf("failure state %+v, want 1 failure and retry at 2s", states[1])
	}
}

func TestRepeatedErrorsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clock := &fakeClock{now: time.Unix(0, 0)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// 20 identical failures 1 s apart with 1 s pauses: 40 s, LogEvery 30 s.
	steps := fail(20, time.Second)
	steps = append(steps, step{0, errors.New("other")})
	opts := Options{
		Backoff:  Backoff{Jitter: JitterNone, Max: time.Second},
		LogEvery: 30 * time.Second, Now: clock.Now, Sleep: clock.Sleep,
	}
	_ = Run(ctx, log, "cam1", opts, script(clock, cancel, steps))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d log lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "repeated=") || !strings.Contains(lines[2], "previous_repeated=") {
		t.Fatalf("repeat counts missing:\n%s", buf.String())
	}
	if !strings.Contains(lines[0], "worker=cam1") {
		t.Fatalf("worker name missing: %s", lines[0])
	}
}

func TestRealSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, slog.New(slog.DiscardHandler), "w",
			Options{Backoff: Backoff{Min: time.Hour}},
			func(context.Context) error { return errors.New("fail") })
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
