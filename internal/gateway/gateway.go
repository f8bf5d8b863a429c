// Package gateway is the site gateway role (`vigil gateway`): it enrols
// once with the hub, pulls its site's cameras with the hub's own pull code
// (source/rtsp under supervise into a stream.Stream), records every camera
// into the local spool as ~1 s fMP4 fragments, pushes live video to the hub
// over RTSP RECORD, and uploads the spooled fragments in seq order per
// camera over HTTPS under one shared rate cap. A fragment is freed from the
// spool only once the hub has said it is durably stored, so an uplink
// outage loses nothing: recording goes on locally and the backlog drains
// in order when the hub is back.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/spool"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
	"github.com/vigil-video/vigil/internal/uplink"
)

// PushTarget is where and how a camera's live stream is pushed to the hub.
type PushTarget struct {
	URL        string // RTSP base + camera id
	User, Pass string // gateway id and credential (Pass is a secret)
	TLS        *tls.Config
}

// PushFunc pushes st's live video to t with RTSP RECORD until ctx ends
// (returning nil) or the session fails (returning why); the gateway runs
// it under supervise. push.Run fits it.
type PushFunc func(ctx context.Context, st *stream.Stream, t PushTarget) error

// Config configures a Gateway. Zero values take the defaults.
type Config struct {
	// Hub is the hub's base URL (https://host:port). Required unless the
	// gateway has enrolled already (DataDir/gateway.json).
	Hub string
	// Token is the one-time enrolment token; ignored once enrolled.
	Token string
	// DataDir holds the identity, the camera cache and the spool. Required.
	DataDir string
	// BackfillRate caps the upload of spooled fragments, all cameras
	// together, in bits/s. 0: no cap. Live video is never capped.
	BackfillRate int64
	// SpoolQuota bounds the spool in bytes. It defaults to 50 GB.
	SpoolQuota int64
	// RTSP overrides the hub's RTSP base URL for live pushes (NAT, tests).
	RTSP string
	// Cameras are local cameras, used when the hub's list is unavailable
	// and added to it (a hub camera of the same id wins).
	Cameras []uplink.Camera
	// Record tunes the fragments (FragmentDuration defaults to 1 s).
	Record record.Config
	// Push replaces push.Run for the live push (tests); nil: push.Run.
	Push PushFunc
	// ConfigRefresh is how often the hub's config is fetched. It defaults
	// to 30 s.
	ConfigRefresh time.Duration
	// StatusInterval is how often a status is posted. It defaults to 2 s.
	StatusInterval time.Duration
	// SourceBackoff, PushBackoff and UploadBackoff pace the retries of
	// camera pulls (default 1 s..30 s), live pushes (0.5 s..5 s) and
	// uploads (1 s..15 s).
	SourceBackoff, PushBackoff, UploadBackoff supervise.Backoff
	// RevokedRetry is the pause after the hub refused the credential. It
	// defaults to 30 s.
	RevokedRetry time.Duration
	// QueueBytes bounds the fragments waiting for the spool writer. It
	// defaults to 64 MiB.
	QueueBytes int64
	// SpoolSync is the spool's group-commit interval. It defaults to 250 ms.
	SpoolSync time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ConfigRefresh, 30*time.Second)
	def(&c.StatusInterval, 2*time.Second)
	def(&c.RevokedRetry, 30*time.Second)
	def(&c.SpoolSync, 250*time.Millisecond)
	if c.SpoolQuota <= 0 {
		c.SpoolQuota = 50_000_000_000
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 64 << 20
	}
	if c.PushBackoff == (supervise.Backoff{}) {
		c.PushBackoff = supervise.Backoff{Min: 500 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.UploadBackoff == (supervise.Backoff{}) {
		// the backlog flows soon after the uplink returns (an e2e run saw
		// 5-15 s with a 15 s cap); a refused credential holds off apart
		c.UploadBackoff = supervise.Backoff{Min: 500 * time.Millisecond, Max: 5 * time.Second}
	}
}

// Upload batching.
const (
	batchFragments = 64
	batchBytes     = 8 << 20
	// rateChunk is the unit in which uploads take bytes from the shared
	// token bucket, so cameras share the cap fairly.
	rateChunk = 16 << 10
)

// Gateway is the site gateway. Create it with New and run it with Run.
type Gateway struct {
	cfg Config
	log *slog.Logger

	// Set up by Run.
	id      Identity
	client  *Client
	spool   *spool.Spool
	limiter *rate.Limiter

	queue       chan spoolJob
	queued      atomic.Int64
	queueDrops  atomic.Uint64
	appendFails atomic.Uint64
	uploaded    atomic.Int64 // bytes written into upload streams
	holdUntil   atomic.Int64 // unix ns before which no request goes to the hub (401, 429)

	// onStream, when set (tests), sees each camera's stream before its
	// source starts.
	onStream func(camera string, st *stream.Stream)

	ready chan struct{} // closed once Run has the identity and the spool

	mu      sync.Mutex
	pipes   map[string]*camPipe
	signals map[string]*camSignal
}

// New checks cfg and returns a gateway.
func New(cfg Config, log *slog.Logger) (*Gateway, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("gateway: a data directory is required")
	}
	if cfg.BackfillRate < 0 || cfg.SpoolQuota < 0 {
		return nil, errors.New("gateway: backfill rate and spool quota must not be negative")
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, log: log.With("component", "gateway"),
		pipes: map[string]*camPipe{}, signals: map[string]*camSignal{}, ready: make(chan struct{})}
	if cfg.BackfillRate > 0 {
		// The bucket holds 100 ms of the cap (at least one chunk): an
		// upload woken late catches up, and after idling no more than
		// that goes out at once.
		bps := float64(cfg.BackfillRate) / 8
		g.limiter = rate.NewLimiter(rate.Limit(bps), max(rateChunk, int(bps/10)))
	}
	return g, nil
}

// Run enrols (or loads the identity), opens the spool and runs every
// camera until ctx ends; it returns after every goroutine it started has
// stopped and the spool is closed (synced). It fails only if the gateway
// cannot start: a refused token, a pin mismatch, an unusable data dir.
func (g *Gateway) Run(ctx context.Context) error {
	id, err := g.identity(ctx)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	g.id = id
	g.log = g.log.With("gateway", id.Gateway, "site", id.Site)
	g.client = NewClient(id)
	defer g.client.Close()
	sp, err := spool.Open(filepath.Join(g.cfg.DataDir, "spool"), spool.Options{Quota: g.cfg.SpoolQuota,
		SyncInterval: g.cfg.SpoolSync, Logger: g.log, OnDurable: g.durable})
	if err != nil {
		return fmt.Errorf("gateway: open spool: %w", err)
	}
	g.spool = sp
	g.queue = make(chan spoolJob, 4096)
	close(g.ready)

	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); g.writeLoop(writerCtx) }()

	var wg sync.WaitGroup
	wg.Go(func() { g.statusLoop(ctx) })
	g.configLoop(ctx) // returns after every camera pipeline stopped
	wg.Wait()
	stopWriter() // the writer drains what the stopped cameras emitted
	<-writerDone
	if err := sp.Close(); err != nil {
		return fmt.Errorf("gateway: close spool: %w", err)
	}
	g.log.Info("gateway stopped; spool synced")
	return nil
}

// Ready is closed once Run has enrolled (or loaded its identity) and
// opened the spool.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// identity loads or enrols, retrying network failures with backoff.
func (g *Gateway) identity(ctx context.Context) (Identity, error) {
	var id Identity
	ctx, done := context.WithCancel(ctx)
	defer done()
	log, attempts := g.log, 0
	err := supervise.Run(ctx, g.log, "enrol", supervise.Options{Backoff: g.cfg.UploadBackoff}, func(ctx context.Context) error {
		if attempts++; attempts == 2 {
			// the warnings about the hub's transport are said once
			log = slog.New(quietHandler{g.log.Handler()})
		}
		var err error
		id, err = EnsureIdentity(ctx, g.cfg.Hub, g.cfg.Token, g.cfg.DataDir, log)
		switch {
		case err == nil:
			done()
			return nil
		case errors.Is(err, ErrTokenRefused), errors.Is(err, ErrPinMismatch), errors.Is(err, ErrBadSetup):
			return supervise.Permanent(err)
		}
		return err
	})
	if err != nil {
		return Identity{}, fmt.Errorf("gateway: %w", err)
	}
	if attempts > 1 && id.Gateway != "" {
		g.log.Info("enrolled with the hub", "gateway", id.Gateway, "site", id.Site, "hub", id.Hub)
	}
	return id, nil
}

// quietHandler passes only errors on.
type quietHandler struct{ slog.Handler }

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && q.Handler.Enabled(ctx, l)
}
