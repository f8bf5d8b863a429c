package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigil-video/vigil/internal/config"
	"github.com/vigil-video/vigil/internal/gateway"
	"github.com/vigil-video/vigil/internal/obs"
	"github.com/vigil-video/vigil/internal/uplink"
)

// gatewayFlags are the flags of `vigil gateway`; each also has a key in
// the config file's gateway section (the flag wins).
type gatewayFlags struct {
	configPath, hub, token, data, rate, quota, rtsp, logFormat, logLevel string
}

func (f *gatewayFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.configPath, "config", os.Getenv("VIGIL_CONFIG"), "config file (YAML, gateway: section)")
	fs.StringVar(&f.hub, "hub", "", "hub URL, https://HOST:PORT (needed to enrol)")
	fs.StringVar(&f.token, "token", "", "one-time enrolment token (also VIGIL_GATEWAY_TOKEN); ignored once enrolled")
	fs.StringVar(&f.data, "data", "", "data directory: identity, camera cache, spool (default ./vigil-gateway)")
	fs.StringVar(&f.rate, "backfill-rate", "", "cap on uploading recorded footage, bits/s: 8Mbit, 500k, 0 = none (default 8Mbit)")
	fs.StringVar(&f.quota, "spool-quota", "", "local spool size: 50GB, 500MB, 2GiB (default 50GB)")
	fs.StringVar(&f.rtsp, "rtsp", "", "override of the hub's RTSP base for live pushes, rtsps://HOST:PORT")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
}

// load builds the effective config: file, environment, flags, defaults.
func (f *gatewayFlags) load() (*config.Config, error) {
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return nil, err
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return nil, err
	}
	g := &cfg.Gateway
	for p, v := range map[*string]string{&g.Hub: f.hub, &g.Token: f.token, &g.DataDir: f.data, &g.RTSP: f.rtsp,
		&cfg.Log.Format: f.logFormat, &cfg.Log.Level: f.logLevel} {
		if v != "" {
			*p = v
		}
	}
	if f.rate != "" {
		if g.BackfillRate, err = config.ParseBitRate(f.rate); err != nil {
			return nil, fmt.Errorf("--backfill-rate: %w", err)
		}
	}
	if f.quota != "" {
		if g.SpoolQuota, err = config.ParseByteSize(f.quota); err != nil {
			return nil, fmt.Errorf("--spool-quota: %w", err)
		}
	}
	if err := cfg.Finish(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// runGateway runs `vigil gateway` until ctx ends (SIGINT/SIGTERM).
func runGateway(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var gf gatewayFlags
	gf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg, err := gf.load()
	if err != nil {
		return err
	}
	log, err := obs.NewLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	g, err := gateway.New(gatewayConfig(cfg), log)
	if err != nil {
		return err
	}
	return g.Run(ctx)
}

// gatewayConfig hands the gateway its own slice of the config.
func gatewayConfig(cfg *config.Config) gateway.Config {
	gc := cfg.Gateway
	out := gateway.Config{Hub: gc.Hub, Token: gc.Token, DataDir: gc.DataDir, BackfillRate: gc.BackfillRate.BitsPerSecond,
		SpoolQuota: int64(gc.SpoolQuota), RTSP: gc.RTSP}
	out.Record.FragmentDuration = cfg.Record.Fragment.D()
	out.Record.SegmentDuration = cfg.Record.Segment.D()
	for _, c := range gc.Cameras {
		out.Cameras = append(out.Cameras, uplink.Camera{ID: c.ID, Source: c.Source, Transport: c.Transport, Record: *c.Record})
	}
	return out
}
