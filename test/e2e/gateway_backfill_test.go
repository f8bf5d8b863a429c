package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// endTol is how far before the end of a camera's run its recordings may
// end. The gateway flushes the fragment it was filling when the camera's
// stream ends, so they usually end within 0.1 s of the cut; a GStreamer
// camera on a loaded machine was once seen 1.04 s short (its stream
// lagging). 1.5 s allows that and is less than a sim camera's fragment (a
// 2 s GOP), so losing the sim cameras' last fragment fails.
const endTol = 1500 * time.Millisecond

// Two sites, each with a gateway and three cameras (two `vigil sim`, one
// GStreamer), lose their uplink for 60 s. While cut, the hub sees the
// gateways go offline; once restored, it shows the held footage as a
// pending gap and the gateways' backlog, which drains under the backfill
// cap. In the end every camera's recordings at the hub are complete: from
// the gateway's first fragment to the end of the camera's run, no hole,
// every fragment once, every frame the camera sent.
func TestGatewayOutageBackfill(t *testing.T) {
	t.Parallel()
	const (
		before = 20 * time.Second
		outage = 60 * time.Second
	)
	data := filepath.Join(t.TempDir(), "data")
	h := startGatewayHub(t, data)
	sites := []*siteRig{
		setupSite(t, h, "a", siteCameras(t, "a", 2, true), "--backfill-rate", "4Mbit"),
		setupSite(t, h, "b", siteCameras(t, "b", 2, true), "--backfill-rate", "4Mbit"),
	}
	for _, s := range sites {
		waitFor(t, 20*time.Second, "gateway "+s.gw.id+" reports its cameras online and live", func() (bool, string) {
			g := h.gateway(s.gw.id)
			return g.Status != nil && g.Status.Online && g.Status.CamerasOnline == len(s.cams) && g.Status.CamerasLive == len(s.cams), g.String()
		})
	}
	time.Sleep(before) // the run before the outage
	for _, s := range sites {
		c := s.cams[0].id
		t.Logf("before the cut, the hub shows camera %s's last 10 s with gaps: %s", c, fmtGaps(h.recordings(c, time.Now().Add(-10*time.Second), time.Now())))
	}

	cutAt := time.Now()
	for _, s := range sites {
		s.gw.cut()
	}
	for _, s := range sites {
		waitFor(t, 20*time.Second, "the hub sees gateway "+s.gw.id+" offline", func() (bool, string) {
			g := h.gateway(s.gw.id)
			return g.Status != nil && !g.Status.Online, g.String()
		})
		for _, c := range s.cams {
			h.waitState(c.id, "offline", 15*time.Second) // no live push
		}
	}
	spoolAtCut := map[string]int64{}
	for _, s := range sites {
		spoolAtCut[s.gw.id] = dirSize(t, filepath.Join(s.gw.data, "spool"))
	}
	// While the outage lasts, the hub shows the footage since its last
	// stored fragment (up to two 2 s fragments before the cut) as pending
	// up to now: the site is recording it.
	for _, s := range sites {
		for _, c := range s.cams {
			pendingSince(t, h, c.id, cutAt.Add(-5*time.Second), cutAt.Add(time.Second))
		}
	}
	time.Sleep(time.Until(cutAt.Add(outage)))
	for _, s := range sites {
		if !s.gw.running() {
			t.Fatalf("gateway %s exited during the outage", s.gw.id)
		}
		grown := dirSize(t, filepath.Join(s.gw.data, "spool")) - spoolAtCut[s.gw.id]
		// 3 cameras, ~38+38+37 KB/s, for most of the outage.
		if grown < 3_000_000 {
			t.Errorf("gateway %s: spool grew by %d bytes during the outage, want the cameras' footage (> 3 MB)", s.gw.id, grown)
		}
	}

	restoreAt := time.Now()
	for _, s := range sites {
		s.gw.restore()
	}
	// The backlog: the gateways report it, and the hub shows the held
	// footage as pending (not lost) until it arrives.
	for _, s := range sites {
		waitFor(t, 20*time.Second, "gateway "+s.gw.id+" reports its backlog", func() (bool, string) {
			g := h.gateway(s.gw.id)
			st := g.Status
			return st != nil && st.Online && st.BacklogBytes > 1_000_000 && st.BacklogSeconds > outage.Seconds()/2, g.String()
		})
		// The metrics say it too.
		m := h.metrics()
		labels := `gateway="` + s.gw.id + `",site="` + s.site + `"`
		if v, ok := metricValue(m, "vigil_gateway_up", labels); !ok || v != 1 {
			t.Errorf("vigil_gateway_up{%s} = %v (found %v), want 1", labels, v, ok)
		}
		if v, ok := metricValue(m, "vigil_gateway_backlog_bytes", labels); !ok || v <= 0 {
			t.Errorf("vigil_gateway_backlog_bytes{%s} = %v (found %v), want the backlog", labels, v, ok)
		}
		// The outage is footage (backfilled already) or pending, never
		// lost. (Its first and last seconds are left out: the last stored
		// fragment ends up to two fragments before the cut, and the newest
		// seconds after the restore are not reported yet.)
		for _, c := range s.cams {
			tl := h.recordings(c.id, cutAt.Add(-5*time.Second), time.Now())
			if a, b := cutAt.Add(5*time.Second), restoreAt.Add(-5*time.Second); !coveredBy(tl, a, b) {
				t.Errorf("camera %s: the hub shows part of the outage %s..%s as lost: %s", c.id,
					a.Format("15:04:05.000"), b.Format("15:04:05.000"), fmtGaps(tl))
			}
		}
	}
	// The backfill at 4 Mbit/s (500 kB/s) of ~7 MB, while the cameras go
	// on (~115 kB/s): ~20 s. Each site's uplink (its HTTPS proxy: uploads,
	// reports, TLS) carries at most the cap in any 4 s of the drain (TLS
	// and HTTP/2 framing add ~2 %, the bucket's burst is 16 KiB). Not at
	// least: the uploaders come back on their own retry schedule (up to
	// 15 s after the uplink), so part of the drain is idle; the rates are
	// logged.
	const capBPS = 4_000_000 / 8
	for _, s := range sites {
		if st := h.gateway(s.gw.id).Status; st == nil || st.RateCapBPS != capBPS {
			t.Errorf("gateway %s status: %+v, want rate_cap_bps %d", s.gw.id, st, capBPS)
		}
	}
	rates := sampleUplinks(t, sites)
	waitDrained(t, h, 90*time.Second, restoreAt, 3*time.Second, sites...)
	for _, s := range sites {
		most, avg := rates(s)
		t.Logf("site %s: the uplink carried at most %.0f B/s over 4 s, %.0f B/s on average, during the backfill (cap %d B/s)", s.site, most, avg, capBPS)
		if most > 1.1*capBPS {
			t.Errorf("site %s: the uplink carried %.0f B/s over 4 s of the backfill, over the cap of %d B/s", s.site, most, capBPS)
		}
	}
	t.Logf("backlog drained %v after the uplink came back", time.Since(restoreAt).Round(time.Second))

	end := stopCameras(sites...)
	waitDrained(t, h, 30*time.Second, end.Add(2*time.Second), 0, sites...)
	for _, s := range sites {
		for _, c := range s.cams {
			checkTimeline(t, h, c, cutAt.Add(-before-time.Minute), time.Now())
		}
	}
	origins := map[string]string{}
	for _, s := range sites {
		origins[s.site] = s.gw.origin()
		s.gw.stop()
	}
	h.stop()
	for _, s := range sites {
		for _, c := range s.cams {
			r := checkRecordings(t, data, c, origins[s.site], end, endTol)
			if len(r.segs) > 0 && !r.segs[0].Start.Before(cutAt.Add(-before/2)) {
				t.Errorf("camera %s: recordings start at %s, after the run began", c.id, r.segs[0].Start)
			}
		}
	}
}

// fmtGaps is a one-line view of a timeline's gaps.
func fmtGaps(tl timeline) string {
	var b strings.Builder
	for _, g := range tl.Gaps {
		b.WriteString(g.Start.Format("15:04:05.000") + "-" + g.End.Format("15:04:05.000") + " " + g.State + " " + g.Reason + "; ")
	}
	return b.String()
}

// pendingSince waits (15 s at most) until the hub shows camera's footage
// as one pending gap from a time in [from, to] up to now (within 3 s).
func pendingSince(t *testing.T, h *hubProc, camera string, from, to time.Time) {
	t.Helper()
	waitFor(t, 15*time.Second, "the hub shows camera "+camera+"'s footage at the site as pending", func() (bool, string) {
		now := time.Now()
		tl := h.recordings(camera, from.Add(-time.Minute), now)
		for _, g := range tl.Gaps {
			if g.State == "pending" && !g.Start.Before(from) && !g.Start.After(to) && g.End.After(now.Add(-3*time.Second)) {
				return true, ""
			}
		}
		return false, fmtGaps(tl)
	})
}

// upToDate waits (20 s at most) until the hub holds camera's footage up to
// within age of now.
func upToDate(t *testing.T, h *hubProc, camera string, age time.Duration) {
	t.Helper()
	waitFor(t, 20*time.Second, "the hub has camera "+camera+"'s footage up to now", func() (bool, string) {
		now := time.Now()
		tl := h.recordings(camera, now.Add(-time.Minute), now)
		for _, sp := range tl.Spans {
			if sp.End.After(now.Add(-age)) {
				return true, ""
			}
		}
		return false, fmtGaps(tl)
	})
}

// sampleUplinks samples each site's uplink (bytes up through its HTTPS
// proxy) every 250 ms until the returned function is first called (or the
// test ends); that function stops the sampling and gives a site's highest
// rate over any 4 s and its average rate, in bytes/s.
func sampleUplinks(t *testing.T, sites []*siteRig) func(*siteRig) (most, avg float64) {
	type sample struct {
		at time.Time
		up int64
	}
	samples := map[*siteRig][]sample{}
	take := func() {
		for _, s := range sites {
			up, _ := s.gw.http.Bytes()
			samples[s] = append(samples[s], sample{time.Now(), up})
		}
	}
	take()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				take()
				return
			case <-tick.C:
				take()
			}
		}
	}()
	var once sync.Once
	end := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(end)
	return func(s *siteRig) (most, avg float64) {
		end()
		ss := samples[s]
		first, last := ss[0], ss[len(ss)-1]
		avg = float64(last.up-first.up) / last.at.Sub(first.at).Seconds()
		j := 0
		for i := range ss {
			for j < i && ss[i].at.Sub(ss[j].at) > 4*time.Second {
				j++
			}
			if d := ss[i].at.Sub(ss[j].at); d >= 4*time.Second-300*time.Millisecond {
				most = max(most, float64(ss[i].up-ss[j].up)/d.Seconds())
			}
		}
		return most, avg
	}
}

// coveredBy reports whether [a, b] lies within the timeline's spans and
// pending gaps.
func coveredBy(tl timeline, a, b time.Time) bool {
	type iv struct{ start, end time.Time }
	var ivs []iv
	for _, sp := range tl.Spans {
		ivs = append(ivs, iv{sp.Start, sp.End})
	}
	for _, g := range tl.Gaps {
		if g.State == "pending" {
			ivs = append(ivs, iv{g.Start, g.End})
		}
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].start.Before(ivs[j].start) })
	at := a
	for _, v := range ivs {
		if v.start.After(at.Add(time.Millisecond)) {
			break
		}
		if v.end.After(at) {
			at = v.end
		}
	}
	return !at.Before(b)
}

// metrics returns the hub's /metrics text.
func (h *hubProc) metrics() string {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// metricValue finds the sample of name whose labels include labels
// (`k="v",k2="v2"`, in the order the exposition writes them).
func metricValue(text, name, labels string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+"{") || !strings.Contains(l, labels) {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		return v, err == nil
	}
	return 0, false
}
