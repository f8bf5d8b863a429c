package oidc

import (
	"crypto/sha256"
	"sync"
	"time"
)

// pendingLogin is what a started login keeps until its callback.
type pendingLogin struct {
	nonce    string
	verifier string
	expires  time.Time
}

// pendingLogins holds started logins by the SHA-256 of their state, each
// for ttl, at most max at once. Each is taken at most once.
type pendingLogins struct {
	mu  sync.Mutex
	m   map[[32]byte]pendingLogin
	max int
	ttl time.Duration
}

func newPendingLogins(max int, ttl time.Duration) *pendingLogins {
	return &pendingLogins{m: map[[32]byte]pendingLogin{}, max: max, ttl: ttl}
}

// put keeps a login; false when max logins are in progress.
func (p *pendingLogins) put(state string, l pendingLogin, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) >= p.max {
		for k, v := range p.m {
			if !now.Before(v.expires) {
				delete(p.m, k)
			}
		}
		if len(p.m) >= p.max {
			return false
		}
	}
	l.expires = now.Add(p.ttl)
	p.m[sha256.Sum256([]byte(state))] = l
	return true
}

// take removes and returns the login of state; false when it is unknown,
// already taken or expired.
func (p *pendingLogins) take(state string, now time.Time) (pendingLogin, bool) {
	k := sha256.Sum256([]byte(state))
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.m[k]
	delete(p.m, k)
	if !ok || !now.Before(l.expires) {
		return pendingLogin{}, false
	}
	return l, true
}

// len reports how many logins are kept (for tests).
func (p *pendingLogins) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
