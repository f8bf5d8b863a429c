// Package supervise restarts a worker (a Run(ctx) error func) until its
// context ends, waiting a capped, jittered, exponentially growing pause
// between attempts, and logging repeated failures without flooding the log.
//
// Workers never retry by themselves: they return an error and the
// supervisor decides when to try again (see docs/design style rule 2).
package supervise

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Jitter selects how a pause is randomised.
type Jitter int

const (
	// JitterEqual waits d/2 plus a random part of d/2: never less than half
	// the nominal pause. It is the default.
	JitterEqual Jitter = iota
	// JitterFull waits a random duration in [0, d).
	JitterFull
	// JitterNone waits exactly d.
	JitterNone
)

// Backoff configures the pauses between attempts. Zero values take the
// defaults.
type Backoff struct {
	// Min is the first pause. It defaults to 1 s.
	Min time.Duration
	// Max caps the pause. It defaults to 30 s.
	Max time.Duration
	// Factor multiplies the pause after each failure. It defaults to 2.
	Factor float64
	// Jitter randomises each pause. It defaults to JitterEqual.
	Jitter Jitter
	// Healthy is how long an attempt must run for the next failure to start
	// again from Min. It defaults to 10 s.
	Healthy time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = time.Second
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Factor < 1 {
		b.Factor = 2
	}
	if b.Healthy <= 0 {
		b.Healthy = 10 * time.Second
	}
	return b
}

// nominal returns the un-jittered pause after the given number of
// consecutive failures (1 = first failure).
func (b Backoff) nominal(failures int) time.Duration {
	d := float64(b.Min)
	for i := 1; i < failures && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	return time.Duration(min(d, float64(b.Max)))
}

// pause returns the jittered pause; rnd returns a value in [0, n).
func (b Backoff) pause(failures int, rnd func(n int64) int64) time.Duration {
	d := b.nominal(failures)
	switch b.Jitter {
	case JitterFull:
		return time.Duration(rnd(int64(d)))
	case JitterNone:
		return d
	default:
		half := d / 2
		return half + time.Duration(rnd(int64(d-half)))
	}
}

// State is what the supervisor reports through Options.OnState.
type State struct {
	// Running is true when an attempt has just started, false when it has
	// just ended.
	Running bool
	// Err is the error the last attempt ended with (nil while running, or
	// when it returned nil).
	Err error
	// Failures counts consecutive failed attempts (reset after a healthy run).
	Failures int
	// Retry is when the next attempt starts (zero while running).
	Retry time.Time
}

// Options configure Run. Only Backoff is commonly set; the rest is for
// tests and status reporting.
type Options struct {
	Backoff
	// OnState, when set, is called synchronously when an attempt starts and
	// when it ends.
	OnState func(State)
	// LogEvery is the shortest interval between two log lines of the same
	// error; repeats in between are counted and reported with the next line.
	// It defaults to 1 minute.
	LogEvery time.Duration
	// Now returns the current time. It defaults to time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, returning ctx.Err() then. It
	// defaults to a timer-based wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a uniform value in [0, n) for n > 0. It defaults to
	// math/rand/v2.Int64N.
	Rand func(n int64) int64
}

func (o Options) withDefaults() Options {
	o.Backoff = o.Backoff.withDefaults()
	if o.LogEvery <= 0 {
		o.LogEvery = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Rand == nil {
		o.Rand = randN
	}
	if o.OnState == nil {
		o.OnState = func(State) {}
	}
	return o
}

func randN(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

// Error implements error.
func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that Run stops retrying and returns it. Use it for
// errors no retry can fix, such as an invalid configuration.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Func is a supervised worker. It runs until ctx ends or it fails.
type Func func(ctx context.Context) error

// Run calls fn again and again until ctx ends, pausing between attempts as
// opts.Backoff says. An attempt that returns nil is restarted too (after a
// pause), because a worker is meant to run for as long as ctx lasts.
//
// Run returns nil when ctx ends, or the error of an attempt that returned
// an error wrapped with Permanent. It starts no goroutine: fn runs on the
// caller's goroutine.
func Run(ctx context.Context, logger *slog.Logger, name string, opts Options, fn Func) error {
	opts = opts.withDefaults()
	r := &runner{opts: opts, log: newLogLimiter(logger.With("worker", name), opts.LogEvery)}
	return r.loop(ctx, fn)
}

type runner struct {
	opts     Options
	log      *logLimiter
	failures int
}

func (r *runner) loop(ctx context.Context, fn Func) error {
	for ctx.Err() == nil {
		err := r.attempt(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		if perm, ok := errors.AsType[*permanentError](err); ok {
			r.log.permanent(perm.err)
			return perm.err
		}
		wait := r.opts.pause(r.failures, r.opts.Rand)
		r.log.failure(r.opts.Now(), err, r.failures, wait)
		r.opts.OnState(State{Err: err, Failures: r.failures, Retry: r.opts.Now().Add(wait)})
		if r.opts.Sleep(ctx, wait) != nil {
			return nil
		}
	}
	return nil
}

// attempt runs fn once and updates the failure count.
func (r *runner) attempt(ctx context.Context, fn Func) error {
	r.opts.OnState(State{Running: true, Failures: r.failures})
	start := r.opts.Now()
	err := fn(ctx)
	if r.opts.Now().Sub(start) >= r.opts.Healthy {
		r.failures = 0
	}
	r.failures++
	return err
}
