// Package api is Vigil's HTTP JSON API under /api/v1, plus /healthz,
// /readyz and /metrics. The routes, shapes and errors follow the public
// contract and are described in openapi.yaml (a test keeps both in sync).
//
// Every route but /healthz, /readyz and POST /api/v1/login needs a
// session cookie, a bearer token or HTTP Basic credentials. What a
// principal may do is decided in one place, authorize, from the role table
// of the contract and the principal's site scopes: things outside a
// principal's sites answer 404, as if they did not exist.
//
// Camera source URLs keep their credentials in the index but never leave
// the API with them: answers carry the URL without userinfo, errors never
// quote it, and the request log holds only method, path and status.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-video/vigil/internal/timeline"
)

// Config tunes the API. The zero value is usable.
type Config struct {
	// MaxBodyBytes caps request bodies (413 beyond). It defaults to 1 MiB.
	MaxBodyBytes int64
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests (it always is on TLS ones); set it behind a TLS proxy.
	// It defaults to false.
	SecureCookies bool
	// DefaultRange is the recordings window when from is not given. It
	// defaults to 24h.
	DefaultRange time.Duration
	// MaxRange caps the recordings window. It defaults to 31 days.
	MaxRange time.Duration
	// JoinTolerance is the largest hole between segments still shown as
	// one span. It defaults to timeline.DefaultJoinTolerance (1.5 s).
	JoinTolerance time.Duration
	// RequirePlaybackReason makes recorded playback (routes audited as
	// audit.ActionPlayback) answer 400 without a non-empty ?reason=, as
	// exports always do. It defaults to false.
	RequirePlaybackReason bool
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.DefaultRange <= 0 {
		c.DefaultRange = 24 * time.Hour
	}
	if c.MaxRange <= 0 {
		c.MaxRange = 31 * 24 * time.Hour
	}
	if c.JoinTolerance == 0 {
		c.JoinTolerance = timeline.DefaultJoinTolerance
	}
	return c
}

// Deps are the API's collaborators.
type Deps struct {
	// Index is required.
	Index Index
	// Auth is required (an *auth.Service).
	Auth Auth
	// Runtime is required; NopRuntime{} runs nothing.
	Runtime Runtime
	// Registry receives the HTTP metrics and is served on /metrics. It
	// defaults to a new empty registry.
	Registry *prometheus.Registry
	// Logger defaults to discarding. The caller adds identity attributes
	// (component=api).
	Logger *slog.Logger
	// Ready reports readiness for /readyz. It defaults to always ready.
	Ready func() bool
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
	// Routes are extra routes of other packages, served after the API's
	// own; a pattern that conflicts with another is an error.
	Routes []Route
	// Audit receives the audit trail (an *audit.Log) and serves
	// /api/v1/audit; nil records nothing and serves no audit routes.
	Audit Auditor
}

// API is the HTTP API. It holds no goroutines: serve Handler with an
// http.Server.
type API struct {
	cfg      Config
	idx      Index
	auth     Auth
	rt       Runtime
	audit    Auditor
	reg      *prometheus.Registry
	log      *slog.Logger
	ready    func() bool
	now      func() time.Time
	metrics  *httpMetrics
	mux      *http.ServeMux
	crossOri *http.CrossOriginProtection
	handler  http.Handler
	patterns []string
	links    *linkSigner
}

// New builds the API and its routes.
func New(cfg Config, deps Deps) (*API, error) {
	if deps.Index == nil || deps.Auth == nil || deps.Runtime == nil {
		return nil, errors.New("api: index, auth and runtime are required")
	}
	a := &API{
		cfg: cfg.withDefaults(), idx: deps.Index, auth: deps.Auth, rt: deps.Runtime,
		audit: deps.Audit, reg: deps.Registry, log: deps.Logger, ready: deps.Ready, now: deps.Now,
		mux: http.NewServeMux(), crossOri: http.NewCrossOriginProtection(),
	}
	a.setDefaults()
	links, err := newLinkSigner()
	if err != nil {
		return nil, err
	}
	a.links = links
	m, err := newHTTPMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	a.metrics = m
	if err := a.register(deps.Routes); err != nil {
		return nil, err
	}
	a.handler = a.middleware(http.HandlerFunc(a.dispatch))
	return a, nil
}

// register adds the built-in routes and the extra ones to the mux.
func (a *API) register(extra []Route) error {
	table := append(a.routes(), a.linkRoutes()...)
	for _, x := range extra {
		rt, err := a.extraRoute(x)
		if err != nil {
			return err
		}
		table = append(table, rt)
	}
	for _, rt := range table {
		if err := a.handle(rt); err != nil {
			return err
		}
		a.patterns = append(a.patterns, rt.pattern())
	}
	return nil
}

// Patterns returns the "METHOD /path" pattern of every route served, the
// API's own and the extra ones, in registration order.
func (a *API) Patterns() []string { return slices.Clone(a.patterns) }

func (a *API) setDefaults() {
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.ready == nil {
		a.ready = func() bool { return true }
	}
	if a.now == nil {
		a.now = time.Now
	}
}

// Handler returns the API's HTTP handler.
func (a *API) Handler() http.Handler { return a.handler }
