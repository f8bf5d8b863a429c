package testutil

import (
	"context"
	"sync"
	"testing"

	"github.com/vigil-video/vigil/internal/media"
)

// Collector is a stream reader that records what it is given.
type Collector struct {
	mu     sync.Mutex
	begins [][]media.Track
	units  []*media.AccessUnit
	ends   int
}

// Begin records a publish session's start.
func (c *Collector) Begin(t []media.Track) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begins = append(c.begins, t)
}

// Write records a unit.
func (c *Collector) Write(au *media.AccessUnit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.units = append(c.units, au)
}

// End records a publish session's end.
func (c *Collector) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ends++
}

// State returns copies of what was recorded so far.
func (c *Collector) State() (begins [][]media.Track, units []*media.AccessUnit, ends int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]media.Track(nil), c.begins...), append([]*media.AccessUnit(nil), c.units...), c.ends
}

// Serve runs run on a goroutine until the test ends, then cancels it and
// fails the test if it returned an error. It returns once ready is closed.
func Serve(t testing.TB, ctx context.Context, run func(context.Context) error, ready <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-ready
}
