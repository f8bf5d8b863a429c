package e2e

import (
	"path/filepath"
	"testing"
	"time"
)

// kill -9 in the middle of a backfill, first of the gateway, then of the
// hub; each restarts on its data directory. The backfill resumes where the
// hub's durable progress is: in the end the recordings hold every fragment
// once. The hub's restart loses nothing (the site keeps recording); the
// gateway's loses only the time it was down (the camera was not being
// recorded), which the hub shows as lost.
func TestGatewayKill9DuringBackfill(t *testing.T) {
	t.Parallel()
	const (
		outage = 20 * time.Second
		// downMax bounds the footage a gateway restart misses. Fragments
		// are whole GOPs (2 s for the sim camera, 1 s for GStreamer), so
		// the hole runs from a keyframe to a keyframe: the fragment being
		// filled (and the last one, if not synced yet: 250 ms), the
		// restart and reconnect, up to the next keyframe. 4 s is typical
		// for the sim camera; 8 s allows a restart slower than a GOP.
		downMax = 8 * time.Second
	)
	data := filepath.Join(t.TempDir(), "data")
	h := startGatewayHub(t, data)
	// 2 Mbit/s (250 kB/s) against ~75 kB/s of live footage: a 20 s outage
	// (~1.5 MB) takes ~9 s to drain.
	s := setupSite(t, h, "k", siteCameras(t, "k", 1, true), "--backfill-rate", "2Mbit")
	g := s.gw
	time.Sleep(8 * time.Second)

	// midBackfill cuts the uplink for the outage, restores it, and returns
	// once the gateway reports the backlog draining (more than half the
	// outage still held).
	midBackfill := func(h *hubProc) {
		t.Helper()
		// After a restart the hub may still lack the last seconds (the
		// live push not yet recording, the new spool not yet uploaded):
		// the pending check below needs its footage up to the cut.
		for _, c := range s.cams {
			upToDate(t, h, c.id, 3*time.Second)
		}
		cutAt := time.Now()
		g.cut()
		for _, c := range s.cams {
			pendingSince(t, h, c.id, cutAt.Add(-5*time.Second), cutAt.Add(time.Second))
		}
		time.Sleep(time.Until(cutAt.Add(outage)))
		restoreAt := time.Now()
		g.restore()
		waitFor(t, 20*time.Second, "gateway reports a backlog", func() (bool, string) {
			gi := h.gateway(g.id)
			st := gi.Status
			seen, _ := time.Parse(time.RFC3339Nano, lastSeen(st))
			return st != nil && seen.After(restoreAt) && st.BacklogSeconds > outage.Seconds()/2, gi.String()
		})
		time.Sleep(2 * time.Second)
		// still mid-backfill, or the kill below tests nothing
		if st := h.gateway(g.id).Status; st == nil || st.BacklogSeconds < 5 {
			t.Fatalf("backfill over before the kill: %+v", st)
		}
	}

	midBackfill(h)
	gwKill := time.Now()
	g.kill()
	g.start()
	gwBack := time.Now()
	waitDrained(t, h, 90*time.Second, gwBack, 3*time.Second, s)
	t.Logf("gateway kill -9: drained %v after the restart", time.Since(gwBack).Round(time.Second))

	midBackfill(h)
	hubKill := time.Now()
	h.kill()
	h = startGatewayHub(t, data)
	g.retarget(h)
	waitDrained(t, h, 90*time.Second, time.Now(), 3*time.Second, s)
	t.Logf("hub kill -9: drained %v after the kill", time.Since(hubKill).Round(time.Second))

	end := stopCameras(s)
	waitDrained(t, h, 30*time.Second, end.Add(2*time.Second), 0, s)
	down := allowedHole{from: gwKill.Add(-5 * time.Second), to: gwBack, max: downMax, why: "gateway kill -9"}
	for _, c := range s.cams {
		checkTimeline(t, h, c, gwKill.Add(-2*time.Minute), time.Now(), down)
	}
	origin := g.origin()
	g.stop()
	h.stop()
	for _, c := range s.cams {
		r := checkRecordings(t, data, c, origin, end, endTol, down)
		if len(r.holes) != 1 {
			t.Errorf("camera %s: %d holes in the recordings, want the one of the gateway's restart", c.id, len(r.holes))
		}
	}
}

func lastSeen(st *gatewayStatus) string {
	if st == nil {
		return ""
	}
	return st.LastSeen
}
