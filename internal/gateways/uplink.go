package gateways

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/uplink"
)

// UplinkPrefix is the path prefix of every uplink route; the app mounts
// Uplink's handler for it in front of the user API (gateways log in with
// their credential, not as users).
const UplinkPrefix = "/api/v1/uplink/"

// UplinkIndex is what the uplink needs of the recordings index.
type UplinkIndex interface {
	GetCamera(ctx context.Context, id string) (index.Camera, error) // index.ErrNotFound
	ListCameras(ctx context.Context) ([]index.Camera, error)
	// LastImported is the highest seq stored of (camera, origin) and the
	// end of that fragment; 0 and the zero time when none.
	LastImported(ctx context.Context, camera, origin string) (uint64, time.Time, error)
	// SetPendingGap replaces the camera's pending gap; start >= end
	// removes it.
	SetPendingGap(ctx context.Context, camera string, start, end time.Time) error
	AddEvent(ctx context.Context, e index.Event) (int64, error)
	EndEvent(ctx context.Context, id int64, end time.Time) error
}

// Importer stores one (camera, origin)'s uploaded fragments in the hub's
// recordings (record.Importer, through a small adapter in the app).
type Importer interface {
	// Import stores f; stored is false for a duplicate (seq already
	// stored). f.Data is only valid during the call. An error that
	// UplinkDeps.IsBadFragment recognises says f is not a valid fragment
	// (the upload is answered 400); any other error is the hub's (500).
	Import(ctx context.Context, f uplink.Fragment) (stored bool, err error)
	// Flush waits until every stored fragment is durable and in the index
	// and returns the highest seq that is.
	Flush(ctx context.Context) (uint64, error)
	// Close ends the importer's open segment.
	Close()
}

// UplinkDeps are the uplink's collaborators.
type UplinkDeps struct {
	// Index holds the cameras, the imported progress, pending gaps and
	// events. Required.
	Index UplinkIndex
	// NewImporter returns an importer of camera's fragments from a spool
	// origin. The uplink keeps one per (camera, origin) while in use and
	// closes it after a minute idle. Required.
	NewImporter func(camera, origin string) Importer
	// IsBadFragment says an Import error is the fragment's fault
	// (record.ErrBadFragment). Nil: no error is.
	IsBadFragment func(error) bool
	// RTSPBase is the base URL gateways push live video to (the camera id
	// is appended), as seen by the request's client. Nil: "".
	RTSPBase func(*http.Request) string
	// Registerer takes the gateway metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Now defaults to the registry's clock.
	Now func() time.Time
}

// uplinkServer serves the uplink routes and holds what gateways reported.
type uplinkServer struct {
	r    *Registry
	deps UplinkDeps
	log  *slog.Logger
	mux  *http.ServeMux

	mu      sync.Mutex
	gws     map[string]*gwState  // by gateway id
	uploads map[string]bool      // cameras with an upload in progress
	imps    map[string]*impEntry // by camera + "/" + origin
	stopped bool                 // Run has ended: importers close on release

	uploadIdle time.Duration // uploadIdle; shorter in tests

	// evMu serialises event transitions (index writes included), so an
	// event is never opened twice or ended before it is stored.
	evMu sync.Mutex
}

// gatewayKey carries the authenticated gateway through a request.
type gatewayKey struct{}

type gatewayIdent struct{ id, site string }

// Uplink returns the handler of every route under /api/v1/uplink/ (see
// docs/format/uplink.md) and makes the registry report gateway status in
// its API answers, metrics and events (Run). Every request must carry
// `Authorization: Bearer vgc_...`, checked with AuthenticateGateway each
// time, so a revocation takes effect at once; failures count against the
// caller's address like failed enrolments (429 with Retry-After past the
// limit). Call it once.
func (r *Registry) Uplink(deps UplinkDeps) http.Handler {
	if deps.Now == nil {
		deps.Now = r.now
	}
	if deps.IsBadFragment == nil {
		deps.IsBadFragment = func(error) bool { return false }
	}
	if deps.RTSPBase == nil {
		deps.RTSPBase = func(*http.Request) string { return "" }
	}
	u := &uplinkServer{r: r, deps: deps, log: r.log.With("part", "uplink"),
		gws: map[string]*gwState{}, uploads: map[string]bool{}, imps: map[string]*impEntry{},
		uploadIdle: uploadIdle}
	u.mux = http.NewServeMux()
	u.mux.HandleFunc(uplink.PathConfig, u.serveConfig)
	u.mux.HandleFunc(uplink.PathStatus, u.serveStatus)
	u.mux.HandleFunc(uplink.PathFragments, u.serveFragments)
	u.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		api.WriteError(w, http.StatusNotFound, "no such uplink route")
	})
	if deps.Registerer != nil {
		if err := deps.Registerer.Register(&gatewayCollector{u: u}); err != nil {
			u.log.Error("gateway metrics not registered", "err", err)
		}
	}
	r.up.Store(u)
	return u
}

func (u *uplinkServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ip := api.RemoteIP(req)
	if ok, wait := u.r.limiter.allow(ip); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()))))
		api.WriteError(w, http.StatusTooManyRequests, "too many failed gateway logins; retry later")
		return
	}
	id, site, ok := u.r.AuthenticateGateway(req.Context(), bearer(req))
	if !ok {
		u.r.limiter.fail(ip)
		u.log.Warn("uplink request refused: bad gateway credential", "remote", ip, "path", req.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil-uplink"`)
		api.WriteError(w, http.StatusUnauthorized, "invalid or revoked gateway credential")
		return
	}
	ctx := context.WithValue(req.Context(), gatewayKey{}, gatewayIdent{id: id, site: site})
	u.mux.ServeHTTP(w, req.WithContext(ctx))
}

// bearer is the request's bearer token ("" without one); the scheme is
// case-insensitive.
func bearer(req *http.Request) string {
	h := req.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

func gatewayOf(req *http.Request) gatewayIdent {
	g, _ := req.Context().Value(gatewayKey{}).(gatewayIdent)
	return g
}

// allowMethod answers 405 unless req uses method.
func allowMethod(w http.ResponseWriter, req *http.Request, methods ...string) bool {
	for _, m := range methods {
		if req.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	api.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// serveConfig answers GET PathConfig: the gateway, its site and the site's
// cameras with their sources (credentials included: the answer goes only
// to this gateway, over TLS, and is never logged or cached).
func (u *uplinkServer) serveConfig(w http.ResponseWriter, req *http.Request) {
	if !allowMethod(w, req, http.MethodGet) {
		return
	}
	g := gatewayOf(req)
	cams, err := u.deps.Index.ListCameras(req.Context())
	if err != nil {
		u.internal(w, "list cameras", err)
		return
	}
	cfg := uplink.Config{Gateway: g.id, Site: g.site, RTSP: u.deps.RTSPBase(req), Cameras: []uplink.Camera{}}
	for _, c := range cams {
		if c.Site == g.site {
			cfg.Cameras = append(cfg.Cameras, uplink.Camera{ID: c.ID, Name: c.Name, Source: c.Source,
				Transport: c.Transport, Record: c.Record})
		}
	}
	writeJSON(w, http.StatusOK, cfg)
}

func (u *uplinkServer) internal(w http.ResponseWriter, op string, err error) {
	u.log.Error(op, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "internal error")
}
