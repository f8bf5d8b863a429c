package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/vigil-video/vigil/internal/obs"
	"github.com/vigil-video/vigil/internal/sim"
)

// runSim runs `vigil sim`: serve N looping RTSP cameras, or with --push,
// publish N streams into a hub (the load generator).
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("cameras", 4, "number of cameras")
	addr := fs.String("rtsp", envOr("VIGIL_SIM_RTSP", "127.0.0.1:8555"), "RTSP listen address (serve mode)")
	clipPath := fs.String("clip", "", "H.264 clip to loop (MP4 or Annex-B .h264; default: the built-in clip)")
	fps := fs.Float64("fps", 25, "frame rate of an Annex-B clip")
	push := fs.String("push", "", "push to this hub instead of serving: rtsp://user:pass@HOST:PORT")
	prefix := fs.String("prefix", "cam", "pushed stream names: PREFIX1..PREFIXN")
	dur := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := obs.NewLogger(stderr, "text", "info")
	if err != nil {
		return err
	}
	var clip *sim.Clip
	if *clipPath != "" {
		if clip, err = sim.LoadClipFile(*clipPath, *fps); err != nil {
			return err
		}
	}
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	if *push != "" {
		res, err := sim.Push(ctx, sim.PushConfig{Target: *push, Cameras: *n, Prefix: *prefix, Clip: clip, Logger: log})
		var total uint64
		for _, f := range res.Frames {
			total += f
		}
		fmt.Fprintf(stdout, "pushed %d streams, %d frames\n", len(res.Frames), total)
		return ignoreDone(err)
	}
	s, err := sim.New(sim.Config{Addr: *addr, Cameras: *n, Clip: clip, UDP: true, Logger: log})
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-s.Ready():
			for _, name := range s.Names() {
				fmt.Fprintln(stdout, s.URL(name))
			}
		case <-ctx.Done():
		}
	}()
	return ignoreDone(s.Run(ctx))
}

func ignoreDone(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}
