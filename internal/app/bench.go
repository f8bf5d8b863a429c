package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/bench"
)

// runBench runs `vigil bench`: the recording load benchmark, for one or
// more stream counts (--streams 50,100,200), or with --viewers the live
// viewing benchmark (--streams 20 --viewers 100), or with --gateway the
// site gateway benchmark (--streams 20,50,100 --gateway [--outage 90s]).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	streams := fs.String("streams", "50", "comma-separated stream counts")
	warmup := fs.Duration("warmup", 10*time.Second, "time before the measured window")
	window := fs.Duration("window", 30*time.Second, "measured window")
	clip := fs.String("clip", "", "H.264 clip to push (default: 1080p 4 Mbit/s made from the built-in footage; with --gateway, builtin: the footage as it is)")
	data := fs.String("data", "", "hub data dir (default: temporary)")
	keep := fs.Bool("keep", false, "keep the data dir")
	verify := fs.Bool("verify", true, "count every stream's recorded frames with ffprobe")
	viewers := fs.Int("viewers", 0, "live HLS viewers spread over the streams (0: the recording benchmark)")
	gw := fs.Bool("gateway", false, "gateway benchmark: a vigil gateway process pulls --streams cameras and uploads to a TLS hub through proxies")
	outage := fs.Duration("outage", 0, "with --gateway: cut the uplink this long after the window and measure the drain (0: none)")
	capFactor := fs.Float64("cap-factor", 1.5, "with --gateway --outage: backfill cap as a multiple of the measured live rate")
	fsyncs := fs.Duration("fsync-sample", 0, "with --gateway: count the gateway's fsyncs with strace this long after the window (0: not)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*streams, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("bad stream count %q", s)
		}
		if *gw {
			res, err := bench.RunGateway(ctx, bench.GatewayConfig{Cameras: n, Warmup: *warmup, Window: *window,
				Outage: *outage, CapFactor: *capFactor, Clip: *clip, Data: *data, Keep: *keep, FsyncSample: *fsyncs}, stderr)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, res)
			continue
		}
		if *viewers > 0 {
			res, err := bench.RunViewers(ctx, bench.ViewersConfig{Cameras: n, Viewers: *viewers, Warmup: *warmup,
				Window: *window, Clip: *clip, Data: *data}, stderr)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, res)
			continue
		}
		res, err := bench.Run(ctx, bench.Config{Streams: n, Warmup: *warmup, Window: *window, Clip: *clip,
			Data: *data, Keep: *keep, Verify: *verify}, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, res)
	}
	return nil
}
