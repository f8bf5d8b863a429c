package gateways

import (
	"context"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/uplink"
)

// maxStatusBody bounds a status report.
const maxStatusBody = 1 << 20

// rateWindow is how many seconds received_bps averages over.
const rateWindow = 10

// maxWarned bounds the foreign cameras remembered per gateway for logging.
const maxWarned = 256

// gwState is what the hub knows of one gateway's uplink, in memory.
type gwState struct {
	id, site string
	status   uplink.Status // the latest report
	at       time.Time     // when it arrived; zero: none since the hub started

	received uint64                 // fragment stream bytes received, total
	buckets  [rateWindow]rateBucket // bytes received per second, last rateWindow seconds

	warned  map[string]bool // foreign cameras already logged
	foreign map[string]bool // cameras of the latest report not at the site
	gaps    map[string]gapSet

	// open events (guarded by uplinkServer.evMu)
	offlineEvent, backlogEvent int64
}

type rateBucket struct {
	sec   int64
	bytes uint64
}

type gapSet struct{ start, end time.Time }

// addReceived counts n bytes received at now. u.mu must be held.
func (g *gwState) addReceived(now time.Time, n int) {
	g.received += uint64(n)
	sec := now.Unix()
	b := &g.buckets[sec%rateWindow]
	if b.sec != sec {
		*b = rateBucket{sec: sec}
	}
	b.bytes += uint64(n)
}

// receivedBPS is the hub-measured rate over the last rateWindow seconds
// (the current second included). u.mu must be held.
func (g *gwState) receivedBPS(now time.Time) float64 {
	sec := now.Unix()
	var sum uint64
	for _, b := range g.buckets {
		if b.sec > sec-rateWindow && b.sec <= sec {
			sum += b.bytes
		}
	}
	return float64(sum) / rateWindow
}

// state returns the gateway's state, creating it. u.mu must be held.
func (u *uplinkServer) stateLocked(id, site string) *gwState {
	g := u.gws[id]
	if g == nil {
		g = &gwState{id: id, site: site, warned: map[string]bool{}, gaps: map[string]gapSet{}}
		u.gws[id] = g
	}
	return g
}

// serveStatus takes POST PathStatus: it keeps the report, ends the
// gateway's site_offline event, and sets each of its site's cameras'
// pending gap from the backlog.
func (u *uplinkServer) serveStatus(w http.ResponseWriter, req *http.Request) {
	if !allowMethod(w, req, http.MethodPost) {
		return
	}
	var s uplink.Status
	if !decodeJSON(w, req, &s, maxStatusBody, false) {
		return
	}
	if s.Origin != "" && !validOrigin(s.Origin) {
		api400(w, "origin: 32 lowercase hex digits")
		return
	}
	gw := gatewayOf(req)
	foreign, err := u.foreignCameras(req.Context(), gw.site, s)
	if err != nil {
		u.internal(w, "status: list cameras", err)
		return
	}
	now := u.deps.Now()
	u.mu.Lock()
	g := u.stateLocked(gw.id, gw.site)
	g.status, g.at, g.foreign = s, now, foreign
	u.mu.Unlock()
	for id := range foreign {
		u.warnForeign(g, id)
	}

	u.evMu.Lock()
	u.endEvent(req.Context(), &g.offlineEvent, "site_offline", gw.id, now)
	u.evMu.Unlock()

	if err := u.setPendingGaps(req.Context(), g, s); err != nil {
		u.internal(w, "set pending gaps", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// foreignCameras returns the cameras of s that are not at site (unknown
// ones included).
func (u *uplinkServer) foreignCameras(ctx context.Context, site string, s uplink.Status) (map[string]bool, error) {
	foreign := map[string]bool{}
	if len(s.Cameras) == 0 {
		return foreign, nil
	}
	cams, err := u.deps.Index.ListCameras(ctx)
	if err != nil {
		return nil, err
	}
	siteOf := make(map[string]string, len(cams))
	for _, c := range cams {
		siteOf[c.ID] = c.Site
	}
	for _, c := range s.Cameras {
		if cs, ok := siteOf[c.ID]; !ok || cs != site {
			foreign[c.ID] = true
		}
	}
	return foreign, nil
}

// setPendingGaps sets the pending gap of every camera of the gateway's
// site in the report: from what the hub stored of (camera, origin) — or
// the backlog's start when that is later or nothing is stored — to the
// backlog's end; an empty backlog clears it. A camera's gap is written
// only when it changes.
func (u *uplinkServer) setPendingGaps(ctx context.Context, g *gwState, s uplink.Status) error {
	for _, c := range s.Cameras {
		u.mu.Lock()
		skip := g.foreign[c.ID]
		prev, known := g.gaps[c.ID]
		u.mu.Unlock()
		if skip {
			continue
		}
		want, err := u.pendingGap(ctx, c, s.Origin)
		if err != nil {
			return err
		}
		if known && prev.start.Equal(want.start) && prev.end.Equal(want.end) {
			continue
		}
		if err := u.deps.Index.SetPendingGap(ctx, c.ID, want.start, want.end); err != nil {
			return err
		}
		u.mu.Lock()
		g.gaps[c.ID] = want
		u.mu.Unlock()
	}
	return nil
}

// pendingGap is the camera's pending gap; zero when there is none.
func (u *uplinkServer) pendingGap(ctx context.Context, c uplink.CameraStatus, origin string) (gapSet, error) {
	b := c.Backlog
	if b.Fragments == 0 || origin == "" || !b.Start.Before(b.End) {
		return gapSet{}, nil
	}
	start := b.Start
	seq, end, err := u.deps.Index.LastImported(ctx, c.ID, origin)
	if err != nil {
		return gapSet{}, err
	}
	if seq > 0 && end.After(start) {
		start = end
	}
	if !start.Before(b.End) {
		return gapSet{}, nil
	}
	return gapSet{start: start.UTC(), end: b.End.UTC()}, nil
}

func (u *uplinkServer) warnForeign(g *gwState, camera string) {
	u.mu.Lock()
	first := !g.warned[camera] && len(g.warned) < maxWarned
	if first {
		g.warned[camera] = true
	}
	u.mu.Unlock()
	if first {
		u.log.Warn("gateway reported a camera not at its site; ignored", "gateway", g.id, "site", g.site, "camera", camera)
	}
}

// validOrigin reports whether s is a spool origin id: 32 lowercase hex.
func validOrigin(s string) bool { return isLowerHex(s, 32) }
