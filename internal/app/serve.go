package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-video/vigil/internal/config"
	"github.com/vigil-video/vigil/internal/sim"
)

// runServe runs `vigil serve`, or `vigil demo` (hub plus simulated cameras).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, demo bool) error {
	name := "serve"
	if demo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hf hubFlags
	hf.register(fs)
	simCameras := 4
	if demo {
		fs.IntVar(&simCameras, "cameras", 4, "simulated cameras")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := hf.load()
	if err != nil {
		return err
	}
	if !demo {
		return serve(ctx, cfg, stdout)
	}
	return runDemo(ctx, cfg, simCameras, stdout)
}

func serve(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	h, err := newHub(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	return h.Run(ctx, stdout)
}

// runDemo starts the simulator, adds its cameras to the config (site
// "demo") and runs the hub.
func runDemo(ctx context.Context, cfg *config.Config, n int, stdout io.Writer) error {
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Cameras: n})
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	simDone := make(chan error, 1)
	go func() { simDone <- s.Run(simCtx) }()
	select {
	case <-s.Ready():
	case err := <-simDone:
		return fmt.Errorf("simulator: %w", err)
	}
	if !hasSite(cfg, "demo") {
		cfg.Sites = append(cfg.Sites, config.Site{ID: "demo", Name: "Demo site", Region: "demo"})
	}
	for _, name := range s.Names() {
		cfg.Cameras = append(cfg.Cameras, config.Camera{ID: "demo-" + name, Name: "Demo " + strings.ToUpper(name[:1]) + name[1:],
			Site: "demo", Source: s.URL(name), Transport: "tcp"})
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	err = serve(ctx, cfg, stdout)
	stopSim()
	<-simDone
	return err
}

func hasSite(cfg *config.Config, id string) bool {
	for _, s := range cfg.Sites {
		if s.ID == id {
			return true
		}
	}
	return false
}
