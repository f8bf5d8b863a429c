// Package app wires Vigil's components into its roles (hub, demo, sim,
// tools) and owns their start and shutdown order. It holds no logic of its
// own beyond that.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vigil-video/vigil/internal/config"
)

const usage = `vigil — open video platform for camera networks

usage:
  vigil demo    [hub flags]            hub + 4 simulated cameras on embedded defaults
  vigil serve   [hub flags]            the central hub
  vigil sim     --cameras N [--rtsp ADDR] [--clip FILE] [--push rtsp://HUB]
  vigil bench   --streams N [--duration D]   recording load benchmark
                [--viewers N] live viewers; [--gateway [--outage D]] gateway per camera, backfill, drain
  vigil user add NAME --role ROLE [--sites a,b] [--data DIR]
  vigil verify  --key KEY.pem --sig SIGFILE FILE | --audit DATA_DIR
  vigil gateway --hub URL --token TOKEN --data DIR [--config FILE]
                [--backfill-rate 8Mbit] [--spool-quota 50GB] [--rtsp rtsps://HOST:PORT]
                                       the site gateway (docs/gateway.md)

hub flags (each also VIGIL_<NAME> and a config file key):
  --config FILE  --data DIR  --http ADDR  --rtsp ADDR  --camera rtsp://...
  --log-format text|json  --log-level LEVEL
  --tls[=false]  --tls-cert FILE  --tls-key FILE  --insecure-http
  (HTTPS/RTSPS are on for non-loopback addresses, with a generated
  certificate unless --tls-cert/--tls-key are given)
`

// Main runs the subcommand in args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr, false)
	case "demo":
		err = runServe(ctx, args[1:], stdout, stderr, true)
	case "sim":
		err = runSim(ctx, args[1:], stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], stdout, stderr)
	case "user":
		err = runUser(ctx, args[1:], stdout, stderr)
	case "verify":
		return runVerify(ctx, args[1:], stdout, stderr)
	case "gateway":
		err = runGateway(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigil %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// hubFlags are the flags shared by serve and demo.
type hubFlags struct {
	configPath string
	data       string
	http       string
	rtsp       string
	logFormat  string
	logLevel   string
	remote     bool
	tls        *bool
	tlsCert    string
	tlsKey     string
	insecure   bool
	cameras    multiFlag
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (f *hubFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.configPath, "config", os.Getenv("VIGIL_CONFIG"), "config file (YAML)")
	fs.StringVar(&f.data, "data", "", "data directory (default ./vigil-data)")
	fs.StringVar(&f.http, "http", "", "HTTP listen address (default 127.0.0.1:8080)")
	fs.StringVar(&f.rtsp, "rtsp", "", "RTSP listen address (default 127.0.0.1:8554)")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
	fs.BoolVar(&f.remote, "allow-remote", false, "deprecated, no effect: non-loopback listeners serve TLS")
	fs.BoolFunc("tls", "serve HTTPS and RTSPS on every listener (--tls=false: never)", func(v string) error {
		b, err := strconv.ParseBool(v)
		f.tls = &b
		return err
	})
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate PEM file (default: generated in DATA/tls)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS key PEM file")
	fs.BoolVar(&f.insecure, "insecure-http", false, "allow plain HTTP and RTSP on non-loopback addresses")
	fs.Var(&f.cameras, "camera", "an RTSP URL to pull and record (repeatable)")
}

// load builds the effective config: file, then environment, then flags.
func (f *hubFlags) load() (*config.Config, error) {
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return nil, err
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return nil, err
	}
	for p, v := range map[*string]string{&cfg.Data: f.data, &cfg.HTTP: f.http, &cfg.RTSP: f.rtsp, &cfg.Log.Format: f.logFormat,
		&cfg.Log.Level: f.logLevel, &cfg.TLS.Cert: f.tlsCert, &cfg.TLS.Key: f.tlsKey} {
		if v != "" {
			*p = v
		}
	}
	if f.remote {
		cfg.AllowRemote = true
	}
	if f.tls != nil {
		cfg.TLS.Enable = f.tls
	}
	if f.insecure {
		cfg.InsecureHTTP = true
	}
	for i, u := range f.cameras {
		cfg.Cameras = append(cfg.Cameras, config.Camera{ID: fmt.Sprintf("camera-%d", i+1), Source: u})
	}
	if err := cfg.Finish(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}
