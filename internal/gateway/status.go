package gateway

import (
	"context"
	"time"

	"github.com/vigil-video/vigil/internal/spool"
	"github.com/vigil-video/vigil/internal/uplink"
)

// statusLoop posts a Status every StatusInterval and logs fragments the
// spool writer's queue dropped.
func (g *Gateway) statusLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.StatusInterval)
	defer t.Stop()
	lastBytes, lastAt := g.uploaded.Load(), time.Now()
	var lastDrops uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		n := g.uploaded.Load()
		bps := float64(n-lastBytes) / now.Sub(lastAt).Seconds()
		lastBytes, lastAt = n, now
		if d := g.queueDrops.Load(); d != lastDrops {
			g.log.Warn("spool writer queue full: fragments dropped", "dropped", d-lastDrops, "total", d)
			lastDrops = d
		}
		if g.held() > 0 {
			continue
		}
		if err := g.client.Status(ctx, g.status(now, bps)); err != nil && ctx.Err() == nil {
			g.holdOff(err)
			g.log.Debug("cannot post status", "err", err)
		}
	}
}

// status builds one report.
func (g *Gateway) status(now time.Time, bps float64) uplink.Status {
	ss := g.spool.Stats()
	st := uplink.Status{Time: now.UTC(), Origin: g.spool.Origin(), UplinkBPS: bps, RateCapBPS: float64(g.cfg.BackfillRate) / 8,
		Spool: uplink.Spool{Bytes: ss.Bytes, Quota: g.cfg.SpoolQuota, Fragments: ss.Fragments,
			OldestPending: ss.OldestPending, Dropped: ss.DroppedTotal}}
	g.mu.Lock()
	pipes := make([]*camPipe, 0, len(g.pipes))
	for _, p := range g.pipes {
		pipes = append(pipes, p)
	}
	g.mu.Unlock()
	for _, p := range pipes {
		st.Cameras = append(st.Cameras, g.cameraStatus(p, ss))
	}
	return st
}

func (g *Gateway) cameraStatus(p *camPipe, ss spool.Stats) uplink.CameraStatus {
	id := p.spec.cam.ID
	cs := uplink.CameraStatus{ID: id, LastFrame: p.st.Stats().LastFrame,
		Live: p.isLive(), Dropped: ss.Dropped[id], Backlog: g.backlog(id)}
	if p.src != nil {
		src := p.src.Status()
		cs.Online = src.Playing
		if src.Err != nil && !src.Playing {
			cs.Error = src.Err.Error() // redacted by source/rtsp
		}
	} else {
		cs.Error = "not configured at this gateway any more; uploading its backlog"
	}
	for _, r := range ss.DroppedRanges {
		if r.Camera == id {
			cs.Lost = append(cs.Lost, uplink.Range{FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, Start: r.Start, End: r.End})
		}
	}
	return cs
}

// backlog summarises a camera's unacknowledged fragments (the spool keeps
// the summary cheap even with days of backlog).
func (g *Gateway) backlog(camera string) uplink.Backlog {
	b := g.spool.Backlog(camera)
	return uplink.Backlog{Fragments: b.Fragments, Bytes: b.Bytes, Start: b.Start, End: b.End}
}
