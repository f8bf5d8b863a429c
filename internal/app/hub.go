package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
	blobfs "github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/camera"
	"github.com/vigil-video/vigil/internal/config"
	"github.com/vigil-video/vigil/internal/hubproc"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/obs"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/secrets"
	"github.com/vigil-video/vigil/internal/tlsconf"
)

// hub is the central hub: every component of `vigil serve`.
type hub struct {
	cfg     *config.Config
	log     *slog.Logger
	dir     *dataDir
	idx     *sqlite.Store
	auth    *auth.Service
	blobs   *blobfs.Store
	writer  *record.Writer
	cams    *camera.Manager
	reg     *prometheus.Registry
	httpLn  net.Listener
	tls     *tlsconf.Cert // nil when no listener serves TLS
	api     *api.API
	keys    *keys.Hub  // signs exports and the audit chain's heads
	audit   *audit.Log // the audit trail
	handler http.Handler
	rtsp    *ingest.Server
	extra   []component // ingest, retention, ... (see hub_components.go)
	ready   atomic.Bool
}

// component is anything with the New+Run lifecycle.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// newHub opens the data dir and index, bootstraps the admin user, recovers
// recordings and binds the listeners. Nothing runs until Run.
func newHub(ctx context.Context, cfg *config.Config, stdout io.Writer) (*hub, error) {
	log, err := obs.NewLogger(os.Stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return nil, err
	}
	h := &hub{cfg: cfg, log: log, reg: obs.NewRegistry()}
	if err := h.open(ctx, stdout); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// open builds every component; on error the caller closes what was opened.
func (h *hub) open(ctx context.Context, stdout io.Writer) (err error) {
	cfg, log := h.cfg, h.log
	if h.dir, err = openDataDir(cfg.Data); err != nil {
		return err
	}
	box, err := secrets.LoadOrCreate(h.dir.secretsKeyPath())
	if err != nil {
		return fmt.Errorf("secrets key: %w", err)
	}
	if h.idx, err = sqlite.Open(ctx, h.dir.indexPath(), sqlite.WithSecrets(box)); err != nil {
		if errors.Is(err, secrets.ErrOpen) {
			return fmt.Errorf("%w: restore the %s that sealed them", err, h.dir.secretsKeyPath())
		}
		return err
	}
	if err = h.openAuth(ctx, stdout); err != nil {
		return err
	}
	if h.blobs, err = blobfs.New(h.dir.recordingsPath()); err != nil {
		return err
	}
	rep, err := record.Recover(ctx, h.idx, h.blobs, log.With("component", "recover"))
	if err != nil {
		return err
	}
	log.Info("recordings reconciled", "repaired", rep.Repaired, "reindexed", rep.Reindexed, "missing", rep.Missing,
		"quarantined", rep.Quarantined, "empty_removed", rep.Empty, "truncated_bytes", rep.TruncatedBytes)
	if err = seedInventory(ctx, h.idx, cfg); err != nil {
		return err
	}
	h.writer = record.NewWriter(record.Config{
		SegmentDuration: cfg.Record.Segment.D(), FragmentDuration: cfg.Record.Fragment.D(),
		SyncInterval: cfg.Record.SyncInterval.D(), MaxQueuedBytes: cfg.Record.MaxQueuedBytes,
		Workers: cfg.Record.Workers,
	}, h.idx, h.blobs, log.With("component", "writer"))
	h.cams = camera.New(camera.Deps{Index: h.idx, Writer: h.writer, Sources: h.pullSource, Log: log})
	h.registerMetrics()
	if err = h.loadTLS(); err != nil {
		return err
	}
	if err = h.buildComponents(ctx); err != nil {
		return err
	}
	if h.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return fmt.Errorf("listen http: %w", err)
	}
	return nil
}

// loadTLS loads (or generates) the certificate when a listener serves TLS.
func (h *hub) loadTLS() error {
	if !h.cfg.AnyTLS() {
		return nil
	}
	var hosts []string
	for _, addr := range []string{h.cfg.HTTP, h.cfg.RTSP} {
		host, _, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			if name, err := os.Hostname(); err == nil {
				host = name // all interfaces: at least the machine's name
			}
		}
		hosts = append(hosts, host)
	}
	cert, err := tlsconf.Load(tlsconf.Options{CertFile: h.cfg.TLS.Cert, KeyFile: h.cfg.TLS.Key, Dir: h.dir.tlsDir(), Hosts: hosts})
	if err != nil {
		return err
	}
	h.tls = cert
	return nil
}

// listenerTLS returns the TLS config of the listener on addr, or nil.
func (h *hub) listenerTLS(addr string) *tls.Config {
	if h.tls == nil || !h.cfg.ListenerTLS(addr) {
		return nil
	}
	return h.tls.Config()
}

func (h *hub) openAuth(ctx context.Context, stdout io.Writer) error {
	store, err := auth.NewSQLStore(h.idx.DB())
	if err != nil {
		return fmt.Errorf("open auth store: %w", err)
	}
	h.auth, err = auth.New(auth.Config{}, auth.Deps{Store: store, Logger: h.log.With("component", "auth")})
	if err != nil {
		return err
	}
	pw, err := auth.Bootstrap(ctx, store, os.Getenv("VIGIL_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	switch {
	case pw != "":
		fmt.Fprintf(stdout, "vigil: created user admin with password %s (shown once; change it or set VIGIL_ADMIN_PASSWORD)\n", pw)
	case os.Getenv("VIGIL_ADMIN_PASSWORD") == "":
		fmt.Fprintf(stdout, "vigil: log in as admin with the password printed when %s was first started\n", h.cfg.Data)
	}
	return nil
}

// seedInventory creates (or updates) the sites and cameras of the config.
func seedInventory(ctx context.Context, idx index.Index, cfg *config.Config) error {
	for _, s := range cfg.Sites {
		_, err := idx.CreateSite(ctx, index.Site{ID: s.ID, Name: s.Name, Region: s.Region})
		if errors.Is(err, index.ErrConflict) {
			_, err = idx.UpdateSite(ctx, index.Site{ID: s.ID, Name: s.Name, Region: s.Region})
		}
		if err != nil {
			return fmt.Errorf("config site %s: %w", s.ID, err)
		}
	}
	for _, c := range cfg.Cameras {
		cam := index.Camera{ID: c.ID, Name: c.Name, Site: c.Site, Source: c.Source, Transport: c.Transport,
			Record: *c.Record, RetentionDays: c.RetentionDays, Analytics: "{}"}
		if cam.Name == "" {
			cam.Name = c.ID
		}
		_, err := idx.CreateCamera(ctx, cam)
		if errors.Is(err, index.ErrConflict) {
			_, err = idx.UpdateCamera(ctx, cam)
		}
		if err != nil {
			return fmt.Errorf("config camera %s: %w", c.ID, err)
		}
	}
	return nil
}

// hubGCPercent is the GC target used unless GOGC is set. A hub's live heap
// is mostly media payloads (the GOP each camera keeps, fragments waiting to
// be written) while it allocates several times that per second, so the
// target trades CPU for memory: at 200 streams Go's 100 costs 1.7 MiB per
// stream, 25 costs ~0.3 CPU-ms per stream-second more than 50, which
// keeps RSS at 1.3-1.4 MiB per stream (BENCHMARKS.md).
const hubGCPercent = 50

// Run runs the hub until ctx ends. Shutdown order: stop taking requests and
// streams, end every camera's stream (recorders close their segments), then
// drain the writer, then close the index.
func (h *hub) Run(ctx context.Context, stdout io.Writer) error {
	defer h.close()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(hubGCPercent)
	}
	front, stopFront := context.WithCancel(context.Background())
	back, stopBack := context.WithCancel(context.Background())
	defer stopBack()
	defer stopFront()
	errc := make(chan error, 8)
	var frontWG, backWG sync.WaitGroup
	start := func(wg *sync.WaitGroup, ctx context.Context, name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start(&backWG, back, "writer", h.writer.Run)
	start(&backWG, back, "audit", h.audit.Run) // stops after the HTTP server: no request outlives it
	start(&frontWG, front, "cameras", h.cams.Run)
	start(&frontWG, front, "auth", h.auth.Run)
	if addr := os.Getenv("VIGIL_PPROF"); addr != "" {
		start(&frontWG, front, "pprof", func(ctx context.Context) error { return runPprof(ctx, addr) })
	}
	for _, c := range h.extra {
		start(&frontWG, front, c.name, c.run)
	}
	srv := &http.Server{Handler: h.handler, ReadHeaderTimeout: 10 * time.Second, TLSConfig: h.listenerTLS(h.cfg.HTTP),
		// the server's own errors (mostly TLS handshakes of scanners and
		// plain-HTTP clients) go to the log at debug level
		ErrorLog: slog.NewLogLogger(h.log.With("component", "http").Handler(), slog.LevelDebug)}
	start(&frontWG, front, "http", func(ctx context.Context) error { return serveHTTP(ctx, srv, h.httpLn) })
	h.ready.Store(true)
	h.announce(stdout)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		h.log.Error("component failed; shutting down", "err", err)
	}
	h.ready.Store(false)
	stopFront()
	frontWG.Wait()
	stopBack()
	backWG.Wait()
	h.log.Info("hub stopped")
	return err
}

func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // HTTPS, with HTTP/2
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // long media responses (exports, blocked playlists) end here
		}
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}

func (h *hub) announce(stdout io.Writer) {
	web, rtsp := "http://", "rtsp://"
	if h.cfg.ListenerTLS(h.cfg.HTTP) {
		web = "https://"
	}
	if h.cfg.ListenerTLS(h.cfg.RTSP) {
		rtsp = "rtsps://"
	}
	fmt.Fprintln(stdout, hubproc.ReadyLine(web+h.httpLn.Addr().String(), rtsp+h.rtspAddr(), h.cfg.Data))
	if h.tls != nil {
		sum := sha256.Sum256(h.tls.Certificate.Certificate[0])
		kind := "configured"
		if h.tls.Generated {
			kind = "self-signed, generated"
		}
		fmt.Fprintf(stdout, "vigil: TLS certificate (%s) %s, SHA-256 %X\n", kind, h.tls.CertFile, sum)
	}
	fmt.Fprintf(stdout, "vigil: watch in a browser at %s%s/\n", web, h.httpLn.Addr())
}

func (h *hub) close() {
	if h.httpLn != nil {
		h.httpLn.Close()
	}
	if h.idx != nil {
		h.idx.Close()
	}
	if h.dir != nil {
		h.dir.close()
	}
}
