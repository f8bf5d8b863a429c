package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// RetryAfterError is a 429 answer: the hub's limiter wants no request
// from this address for After.
type RetryAfterError struct{ After time.Duration }

// Error implements error.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("hub answered 429 too many requests; retry after %v", e.After)
}

// maxHold bounds any hold-off the hub asks for.
const maxHold = 5 * time.Minute

// retryAfter returns a *RetryAfterError for a 429 answer, else nil.
func retryAfter(resp *http.Response) error {
	if resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	d := 30 * time.Second
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	}
	return &RetryAfterError{After: min(d, maxHold)}
}

// holdOff makes every loop talking to the hub (config, status, uploads)
// pause after a refused credential (RevokedRetry) or a 429 (its
// Retry-After), so a refused gateway does not keep knocking.
func (g *Gateway) holdOff(err error) {
	var d time.Duration
	var ra *RetryAfterError
	switch {
	case errors.Is(err, ErrCredentialRefused):
		d = g.cfg.RevokedRetry
	case errors.As(err, &ra):
		d = ra.After
	default:
		return
	}
	until := time.Now().Add(d).UnixNano()
	for {
		cur := g.holdUntil.Load()
		if cur >= until || g.holdUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// held says how long the hold-off still lasts (0: none).
func (g *Gateway) held() time.Duration {
	return max(0, time.Until(time.Unix(0, g.holdUntil.Load())))
}

// waitHold waits out the hold-off; false when ctx ended.
func (g *Gateway) waitHold(ctx context.Context) bool {
	for {
		d := g.held()
		if d <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
