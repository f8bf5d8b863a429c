package gateways

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// checkEvery is how often Run checks gateways.
const checkEvery = time.Second

// Run does the uplink's periodic work until ctx ends: site_offline and
// backlog_high events, forgetting revoked gateways, and closing importers
// idle for a minute. It does nothing before Uplink is called. At the end it
// closes the idle importers (busy ones close when their upload ends).
func (r *Registry) Run(ctx context.Context) error {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if u := r.up.Load(); u != nil {
				u.mu.Lock()
				u.stopped = true
				u.mu.Unlock()
				u.closeIdle(time.Time{})
			}
			return nil
		case <-t.C:
			if u := r.up.Load(); u != nil {
				u.check(ctx)
			}
		}
	}
}

// check runs one round of the periodic work at the uplink's now.
func (u *uplinkServer) check(ctx context.Context) {
	now := u.deps.Now()
	u.closeIdle(now.Add(-importerIdle))
	gws, err := u.r.List(ctx)
	if err != nil {
		u.log.Warn("uplink check: list gateways", "err", err)
		return
	}
	live := make(map[string]bool, len(gws))
	for _, g := range gws {
		live[g.ID] = !g.Revoked
	}
	u.evMu.Lock()
	defer u.evMu.Unlock()
	u.mu.Lock()
	states := make([]*gwState, 0, len(u.gws))
	for id, g := range u.gws {
		if !live[id] {
			delete(u.gws, id) // revoked or deleted: its events end below
		}
		states = append(states, g)
	}
	u.mu.Unlock()
	for _, g := range states {
		u.checkGateway(ctx, g, now, live[g.id])
	}
}

// checkGateway opens or ends g's events. u.evMu must be held.
func (u *uplinkServer) checkGateway(ctx context.Context, g *gwState, now time.Time, live bool) {
	u.mu.Lock()
	at, oldest := g.at, g.status.Spool.OldestPending
	u.mu.Unlock()
	if !live {
		u.endEvent(ctx, &g.offlineEvent, "site_offline", g.id, now)
		u.endEvent(ctx, &g.backlogEvent, "backlog_high", g.id, now)
		u.clearPendingGaps(ctx, g)
		return
	}
	if !at.IsZero() && now.Sub(at) > u.r.cfg.OfflineAfter {
		u.extendPendingGaps(ctx, g, now)
	}
	if !at.IsZero() && now.Sub(at) > u.r.cfg.OfflineAfter && g.offlineEvent == 0 {
		// the outage began with the first report that did not come
		g.offlineEvent = u.addEvent(ctx, g, "site_offline", at, map[string]any{})
	}
	age := backlogAge(now, oldest)
	switch {
	case g.backlogEvent == 0 && age > u.r.cfg.BacklogHigh:
		g.backlogEvent = u.addEvent(ctx, g, "backlog_high", now,
			map[string]any{"backlog_seconds": age.Seconds(), "threshold_seconds": u.r.cfg.BacklogHigh.Seconds()})
	case g.backlogEvent != 0 && age < u.r.cfg.BacklogHigh/2:
		u.endEvent(ctx, &g.backlogEvent, "backlog_high", g.id, now)
	}
}

// backlogAge is now - oldest pending, 0 when nothing is pending.
func backlogAge(now, oldest time.Time) time.Duration {
	if oldest.IsZero() || !now.After(oldest) {
		return 0
	}
	return now.Sub(oldest)
}

// addEvent stores an ongoing event of gateway g and returns its id (0 when
// it could not be stored; it is tried again at the next check).
func (u *uplinkServer) addEvent(ctx context.Context, g *gwState, typ string, start time.Time, data map[string]any) int64 {
	data["gateway"] = g.id
	js, _ := json.Marshal(data)
	id, err := u.deps.Index.AddEvent(ctx, index.Event{Site: g.site, Type: typ, Start: start.UTC(), Data: string(js)})
	if err != nil {
		u.log.Error("store gateway event", "gateway", g.id, "type", typ, "err", err)
		return 0
	}
	u.log.Info("gateway event", "gateway", g.id, "site", g.site, "type", typ)
	return id
}

// endEvent ends the event *id if one is open. u.evMu must be held.
func (u *uplinkServer) endEvent(ctx context.Context, id *int64, typ, gateway string, end time.Time) {
	if *id == 0 {
		return
	}
	if err := u.deps.Index.EndEvent(ctx, *id, end.UTC()); err != nil {
		u.log.Error("end gateway event", "gateway", gateway, "type", typ, "err", err)
		return
	}
	u.log.Info("gateway event ended", "gateway", gateway, "type", typ)
	*id = 0
}

// pendingStep is how often an offline gateway's pending gaps are moved on
// to now.
const pendingStep = 5 * time.Second

// extendPendingGaps runs while gateway g is offline: its site goes on
// recording what the hub does not get, so each camera of its last report
// is pending from the hub's stored end (or its pending gap's start) up to
// now. The next report sets the gaps to what the gateway really holds.
func (u *uplinkServer) extendPendingGaps(ctx context.Context, g *gwState, now time.Time) {
	u.mu.Lock()
	s := g.status
	u.mu.Unlock()
	for _, c := range s.Cameras {
		u.mu.Lock()
		skip := g.foreign[c.ID]
		prev := g.gaps[c.ID]
		u.mu.Unlock()
		if skip || prev.end.After(now.Add(-pendingStep)) {
			continue
		}
		start := prev.start
		if !prev.start.Before(prev.end) {
			seq, end, err := u.deps.Index.LastImported(ctx, c.ID, s.Origin)
			if err != nil || seq == 0 || s.Origin == "" {
				continue // nothing stored yet: where the footage starts is unknown
			}
			start = end
		}
		if !start.Before(now) {
			continue
		}
		want := gapSet{start: start.UTC(), end: now.UTC()}
		if err := u.deps.Index.SetPendingGap(ctx, c.ID, want.start, want.end); err != nil {
			u.log.Error("extend the pending gap of an offline gateway", "gateway", g.id, "camera", c.ID, "err", err)
			continue
		}
		u.mu.Lock()
		g.gaps[c.ID] = want
		u.mu.Unlock()
	}
}

// clearPendingGaps removes the pending gaps a revoked gateway set: that
// footage will not arrive.
func (u *uplinkServer) clearPendingGaps(ctx context.Context, g *gwState) {
	u.mu.Lock()
	var cams []string
	for c, gap := range g.gaps {
		if gap.start.Before(gap.end) {
			cams = append(cams, c)
		}
	}
	u.mu.Unlock()
	for _, c := range cams {
		if err := u.deps.Index.SetPendingGap(ctx, c, time.Time{}, time.Time{}); err != nil {
			u.log.Error("clear pending gap of a revoked gateway", "gateway", g.id, "camera", c, "err", err)
		}
	}
}
