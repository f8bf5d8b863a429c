package gateways

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// statusJSON is a gateway's uplink status in API answers (all zero while
// the gateway has not reported since the hub started).
type statusJSON struct {
	// Online: a report arrived within OfflineAfter.
	Online bool `json:"online"`
	// LastSeen is when the last report arrived ("" : none since the hub
	// started).
	LastSeen string `json:"last_seen"`
	// UplinkBPS is the upload rate the gateway measured; ReceivedBPS the
	// rate the hub received over the last 10 s; RateCapBPS the gateway's
	// cap (0: none). Bytes per second.
	UplinkBPS        float64 `json:"uplink_bps"`
	ReceivedBPS      float64 `json:"received_bps"`
	RateCapBPS       float64 `json:"rate_cap_bps"`
	BacklogBytes     int64   `json:"backlog_bytes"`
	BacklogFragments int     `json:"backlog_fragments"`
	// BacklogSeconds is the age of the oldest unacknowledged fragment.
	BacklogSeconds   float64 `json:"backlog_seconds"`
	OldestPending    string  `json:"oldest_pending"`
	SpoolBytes       int64   `json:"spool_bytes"`
	SpoolQuota       int64   `json:"spool_quota"`
	DroppedFragments uint64  `json:"dropped_fragments"`
	Cameras          int     `json:"cameras"`
	CamerasOnline    int     `json:"cameras_online"`
	CamerasLive      int     `json:"cameras_live"`
}

// gatewayView is a snapshot of one gateway's uplink status.
type gatewayView struct {
	statusJSON
	up       bool
	received uint64
}

// view returns gateway id's status now.
func (r *Registry) view(id string) gatewayView {
	u := r.up.Load()
	if u == nil {
		return gatewayView{}
	}
	now := u.deps.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	g := u.gws[id]
	if g == nil {
		return gatewayView{}
	}
	return u.viewLocked(g, now)
}

// viewLocked is g's status at now. u.mu must be held.
func (u *uplinkServer) viewLocked(g *gwState, now time.Time) gatewayView {
	s := g.status
	v := gatewayView{received: g.received}
	v.ReceivedBPS = g.receivedBPS(now)
	if g.at.IsZero() {
		return v
	}
	v.up = now.Sub(g.at) <= u.r.cfg.OfflineAfter
	v.Online = v.up
	v.LastSeen = fmtTime(g.at)
	v.UplinkBPS, v.RateCapBPS = s.UplinkBPS, s.RateCapBPS
	v.BacklogSeconds = backlogAge(now, s.Spool.OldestPending).Seconds()
	v.OldestPending = fmtTime(s.Spool.OldestPending)
	v.SpoolBytes, v.SpoolQuota, v.DroppedFragments = s.Spool.Bytes, s.Spool.Quota, s.Spool.Dropped
	for _, c := range s.Cameras {
		if g.foreign[c.ID] {
			continue // not at its site
		}
		v.Cameras++
		v.BacklogBytes += c.Backlog.Bytes
		v.BacklogFragments += c.Backlog.Fragments
		if c.Online {
			v.CamerasOnline++
		}
		if c.Live {
			v.CamerasLive++
		}
	}
	return v
}

// gatewayCollector exports every reporting gateway's status as metrics,
// read at scrape time.
type gatewayCollector struct{ u *uplinkServer }

var (
	gwLabels     = []string{"gateway", "site"}
	descUp       = prometheus.NewDesc("vigil_gateway_up", "1 while the gateway reports its status, 0 once it stopped.", gwLabels, nil)
	descBacklogB = prometheus.NewDesc("vigil_gateway_backlog_bytes", "Bytes spooled at the gateway that the hub has not acknowledged.", gwLabels, nil)
	descBacklogS = prometheus.NewDesc("vigil_gateway_backlog_seconds", "Age of the gateway's oldest unacknowledged fragment (0: none).", gwLabels, nil)
	descUplinkR  = prometheus.NewDesc("vigil_gateway_uplink_bytes_per_second", "Fragment upload rate as the gateway reports it.", gwLabels, nil)
	descRecv     = prometheus.NewDesc("vigil_gateway_received_bytes_total", "Fragment stream bytes the hub received from the gateway since the hub started.", gwLabels, nil)
	descDropped  = prometheus.NewDesc("vigil_gateway_dropped_fragments", "Fragments the gateway dropped to its spool quota, as it reports.", gwLabels, nil)
)

func (c *gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descBacklogB, descBacklogS, descUplinkR, descRecv, descDropped} {
		ch <- d
	}
}

func (c *gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	u := c.u
	now := u.deps.Now()
	u.mu.Lock()
	views := make(map[*gwState]gatewayView, len(u.gws))
	for _, g := range u.gws {
		views[g] = u.viewLocked(g, now)
	}
	u.mu.Unlock()
	for g, v := range views {
		up := 0.0
		if v.up {
			up = 1
		}
		for _, m := range []struct {
			d *prometheus.Desc
			t prometheus.ValueType
			v float64
		}{
			{descUp, prometheus.GaugeValue, up},
			{descBacklogB, prometheus.GaugeValue, float64(v.BacklogBytes)},
			{descBacklogS, prometheus.GaugeValue, v.BacklogSeconds},
			{descUplinkR, prometheus.GaugeValue, v.UplinkBPS},
			{descRecv, prometheus.CounterValue, float64(v.received)},
			{descDropped, prometheus.GaugeValue, float64(v.DroppedFragments)},
		} {
			ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v, g.id, g.site)
		}
	}
}
