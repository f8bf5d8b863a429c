// Command vigil is the Vigil video platform: hub, gateway, camera simulator
// and tools, one binary. See README.md and `vigil help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-video/vigil/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
