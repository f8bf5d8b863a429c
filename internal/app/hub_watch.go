package app

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/camera"
	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/live/hls"
	"github.com/vigil-video/vigil/internal/live/whep"
	"github.com/vigil-video/vigil/internal/oidc"
	"github.com/vigil-video/vigil/internal/playback"
	"github.com/vigil-video/vigil/internal/snapshot"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/transcode"
	"github.com/vigil-video/vigil/internal/uplink"
	"github.com/vigil-video/vigil/internal/web"
)

// buildWatch builds what users watch through: live HLS and WebRTC (WHEP),
// recorded playback and exports, snapshots, and the shared H.265 -> H.264
// transcodes for browsers. It
// returns the routes they add to the API; their goroutines join h.extra.
func (h *hub) buildWatch() []api.Route {
	tc := transcode.New(transcode.Config{}, h.log.With("component", "transcode"))
	bs := browserStreams{cams: h.cams, tc: tc}
	live := hls.New(hls.Config{}, hls.Deps{Streams: bs, Logger: h.log.With("component", "hls")})
	rtc := whep.New(whep.Config{}, whep.Deps{Streams: bs, Audit: h.audit, Logger: h.log.With("component", "whep")})
	pb := playback.New(playback.Deps{Index: h.idx, Blobs: h.blobs, Signer: h.keys,
		Logger: h.log.With("component", "playback")})
	snap := snapshot.New(snapshot.Config{}, snapshot.Deps{Streams: h.cams, Index: h.idx, Blobs: h.blobs,
		Logger: h.log.With("component", "snapshot")})
	h.extra = append(h.extra,
		component{name: "transcode", run: tc.Run},
		component{name: "hls", run: live.Run},
		component{name: "whep", run: rtc.Run},
	)
	var routes []api.Route
	routes = append(routes, live.Routes()...)
	routes = append(routes, rtc.Routes()...)
	routes = append(routes, pb.Routes()...)
	routes = append(routes, snap.Routes()...)
	return withAudit(routes)
}

// auditOf says what each watching route writes to the audit trail: one
// record per view, playback, snapshot or export; the media a player
// fetches over and over (segments, parts) is covered by its playlist's.
var auditOf = map[string]struct {
	action string
	query  bool // from/to (or at) and reason from the query
}{
	"GET /api/v1/cameras/{id}/live.m3u8":         {api.AuditLive, false},
	"POST /api/v1/cameras/{id}/whep":             {audit.ActionLiveStart, false},
	"DELETE /api/v1/cameras/{id}/whep/{session}": {audit.ActionLiveStop, false},
	"GET /api/v1/cameras/{id}/playback.m3u8":     {audit.ActionPlayback, true},
	"GET /api/v1/cameras/{id}/export":            {audit.ActionExport, true},
	"GET /api/v1/cameras/{id}/snapshot.jpg":      {audit.ActionSnapshot, true},
}

// withAudit sets the audit action of the routes that have one.
func withAudit(routes []api.Route) []api.Route {
	for i, rt := range routes {
		if a, ok := auditOf[rt.Method+" "+rt.Path]; ok {
			routes[i].Audit, routes[i].AuditQuery = a.action, a.query
		}
	}
	return routes
}

// browserStreams gives live viewers a camera's stream in a codec browsers
// play: the camera's own stream for H.264, its shared transcode for H.265.
type browserStreams struct {
	cams *camera.Manager
	tc   *transcode.Manager
}

// BrowserStream implements hls.Streams (and whep.Streams).
func (b browserStreams) BrowserStream(id string) (*stream.Stream, func(), error) {
	st, ok := b.cams.Stream(id)
	if !ok {
		return nil, nil, fmt.Errorf("camera %s is not running", id)
	}
	return b.tc.Acquire(id, st)
}

// frontRoutes are the routes the hub serves in front of the API, without a
// user login (see withGatewayEnroll); openapi.yaml describes them too.
var frontRoutes = []string{"POST " + gateways.EnrollPath,
	"GET " + uplink.PathConfig, "POST " + uplink.PathStatus, "GET " + uplink.PathFragments, "POST " + uplink.PathFragments}

// frontHandler serves the API (and health, readiness, metrics), the
// OpenID Connect login when sso is not nil, and, for every other path, the
// embedded viewer page.
func frontHandler(apiH, sso http.Handler) http.Handler {
	page := web.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if sso != nil && strings.HasPrefix(p, oidc.Prefix) {
			sso.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			apiH.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}
