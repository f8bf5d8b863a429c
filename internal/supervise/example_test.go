package supervise_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-video/vigil/internal/supervise"
)

// This example shows how to keep a worker (here one that fails twice,
// then gives up for good) running with restarts.
func ExampleRun() {
	attempts := 0
	worker := func(ctx context.Context) error {
		attempts++
		if attempts < 3 {
			return errors.New("connection refused")
		}
		return supervise.Permanent(errors.New("invalid url"))
	}
	opts := supervise.Options{Backoff: supervise.Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond}}
	err := supervise.Run(context.Background(), slog.New(slog.DiscardHandler), "cam1", opts, worker)
	fmt.Println(attempts, err)
	// Output: 3 invalid url
}
