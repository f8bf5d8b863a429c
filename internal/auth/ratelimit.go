package auth

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// RateLimitError is returned (it matches ErrRateLimited) when a login is
// refused because of earlier failures.
type RateLimitError struct {
	// RetryAfter is how long until the next attempt is allowed.
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many failed logins; retry in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// limiter is a token bucket per key: each key starts with burst tokens,
// every attempt takes one, a success gives them all back, and tokens refill
// at burst per window. So burst failures in a row lock the key out until a
// token refills (window/burst).
type limiter struct {
	mu      sync.Mutex
	burst   float64
	perSec  float64
	maxKeys int
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, window time.Duration, maxKeys int, now func() time.Time) *limiter {
	return &limiter{
		burst:   float64(burst),
		perSec:  float64(burst) / window.Seconds(),
		maxKeys: maxKeys,
		now:     now,
		buckets: make(map[string]*bucket),
	}
}

// take spends one token of key. When none is left it returns how long until
// one will be.
func (l *limiter) take(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, now)
	if b.tokens < 1 {
		wait := (1 - b.tokens) / l.perSec
		return false, time.Duration(math.Ceil(wait)) * time.Second
	}
	b.tokens--
	return true, 0
}

// reset refills key's bucket (after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

// bucket returns key's bucket, refilled up to now. l.mu must be held.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.pruneLocked(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
		return b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.perSec)
		b.at = now
	}
	return b
}

// prune forgets keys whose bucket has refilled completely.
func (l *limiter) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(l.now())
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, k)
		}
	}
	// Still full (a flood of distinct keys): drop arbitrary entries rather
	// than grow without bound.
	for k := range l.buckets {
		if len(l.buckets) < l.maxKeys {
			break
		}
		delete(l.buckets, k)
	}
}

// size returns the number of tracked keys.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
