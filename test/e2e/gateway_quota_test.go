package e2e

import (
	"path/filepath"
	"testing"
	"time"
)

// A gateway with a tiny spool quota loses its uplink for longer than the
// quota holds: it keeps running and recording, drops its oldest footage
// (whole spool files), and once the uplink is back the hub shows the
// dropped stretch as lost, while everything newer arrives complete.
func TestGatewaySpoolQuota(t *testing.T) {
	t.Parallel()
	const (
		quota  = 16 << 20 // the smallest a gateway takes; its files are then 1 MiB
		outage = 60 * time.Second
	)
	data := filepath.Join(t.TempDir(), "data")
	h := startGatewayHub(t, data)
	// 8 cameras x ~38 kB/s (~300 kB/s): the quota is full ~40 s into the
	// outage (the cameras' current spool files also hold acknowledged
	// fragments of before it, ~4 MiB), and ~6 MB are dropped by its end.
	// No backfill cap: the backlog drains at once.
	s := setupSite(t, h, "q", siteCameras(t, "q", 8, false), "--spool-quota", "16MiB", "--backfill-rate", "0")
	g := s.gw
	time.Sleep(8 * time.Second)

	cutAt := time.Now()
	g.cut()
	spoolDir := filepath.Join(g.data, "spool")
	var most int64
	for time.Since(cutAt) < outage {
		if !g.running() {
			t.Fatalf("gateway exited during the outage")
		}
		most = max(most, dirSize(t, spoolDir))
		time.Sleep(time.Second)
	}
	restoreAt := time.Now()
	g.restore()
	waitDrained(t, h, 60*time.Second, restoreAt, 3*time.Second, s)
	st := h.gateway(g.id).Status
	if st.DroppedFragments == 0 {
		t.Errorf("gateway reports no dropped fragments after overflowing its quota: %+v", st)
	}
	// The quota counts the data files; LOCK, ORIGIN and the state files
	// are a few hundred bytes per camera.
	if st.SpoolQuota < quota || st.SpoolQuota > quota*105/100 {
		t.Errorf("gateway reports a spool quota of %d bytes, given 16MiB", st.SpoolQuota)
	}
	if most > st.SpoolQuota+64<<10 {
		t.Errorf("spool reached %d bytes, quota %d", most, st.SpoolQuota)
	}
	t.Logf("spool peaked at %d bytes during the outage (quota %d); %d fragments dropped", most, st.SpoolQuota, st.DroppedFragments)
	if !g.running() {
		t.Fatal("gateway exited")
	}

	end := stopCameras(s)
	waitDrained(t, h, 30*time.Second, end.Add(2*time.Second), 0, s)
	// The dropped footage is the oldest the gateway held: it starts where
	// the hub's footage stops at the cut (the last stored fragment ends up
	// to two 2 s fragments before it: one being filled, one being uploaded
	// when cut), it is at most a spool file per camera (1 MiB, ~27 s), and
	// it is never the newest.
	dropped := allowedHole{from: cutAt.Add(-5 * time.Second), to: cutAt.Add(3 * time.Second),
		max: outage - 15*time.Second, dropped: true, why: "spool quota"}
	lostAny := false
	for _, c := range s.cams {
		tl := checkTimeline(t, h, c, cutAt.Add(-time.Minute), time.Now(), dropped)
		for _, gp := range tl.Gaps {
			if gp.State == "lost" && gp.Start.After(cutAt.Add(-6*time.Second)) && gp.End.Before(restoreAt) {
				lostAny = true
				t.Logf("camera %s: lost %s..%s (%v) %s", c.id, gp.Start.Format("15:04:05.000"),
					gp.End.Format("15:04:05.000"), gp.End.Sub(gp.Start).Round(time.Millisecond), gp.Reason)
			}
		}
	}
	if !lostAny {
		t.Error("no camera shows the dropped footage as a lost gap")
	}
	origin := g.origin()
	g.stop()
	h.stop()
	holes := 0
	for _, c := range s.cams {
		r := checkRecordings(t, data, c, origin, end, endTol, dropped)
		holes += len(r.holes)
	}
	if holes == 0 {
		t.Error("no recording has the hole of the dropped footage")
	}
}
