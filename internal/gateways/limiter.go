package gateways

import (
	"math"
	"sync"
	"time"
)

// limiter counts failed enrolments per address: each address may fail
// burst times in a row, and one more try is granted every window/burst.
// It tracks at most maxKeys addresses, forgetting those that have
// recovered (or, under a flood of addresses, arbitrary ones).
type limiter struct {
	mu      sync.Mutex
	burst   float64
	perSec  float64
	maxKeys int
	now     func() time.Time
	fails   map[string]failState
}

type failState struct {
	credit float64 // tries left, up to burst
	at     time.Time
}

func newLimiter(burst int, window time.Duration, maxKeys int, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), perSec: float64(burst) / window.Seconds(),
		maxKeys: maxKeys, now: now, fails: make(map[string]failState)}
}

// allow reports whether key may try now and, if not, how long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.creditLocked(key, l.now())
	if c >= 1 {
		return true, 0
	}
	// (less a hair, so float error does not add a whole second)
	return false, time.Duration(math.Ceil((1-c)/l.perSec-1e-6)) * time.Second
}

// fail spends one try of key.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c := l.creditLocked(key, now)
	if _, ok := l.fails[key]; !ok && len(l.fails) >= l.maxKeys {
		l.pruneLocked(now)
	}
	l.fails[key] = failState{credit: math.Max(0, c-1), at: now}
}

// creditLocked is key's credit at now. l.mu must be held.
func (l *limiter) creditLocked(key string, now time.Time) float64 {
	f, ok := l.fails[key]
	if !ok {
		return l.burst
	}
	return math.Min(l.burst, f.credit+max(0, now.Sub(f.at).Seconds())*l.perSec)
}

func (l *limiter) pruneLocked(now time.Time) {
	for k := range l.fails {
		if l.creditLocked(k, now) >= l.burst {
			delete(l.fails, k)
		}
	}
	for k := range l.fails {
		if len(l.fails) < l.maxKeys {
			break
		}
		delete(l.fails, k)
	}
}
