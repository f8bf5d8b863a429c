package gateways

import (
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-video/vigil/internal/uplink"
)

// TestGatewayMetrics: every gateway metric is in a gather of the
// registry, labelled with gateway and site, with the reported and
// received values.
func TestGatewayMetrics(t *testing.T) {
	e := newUpEnv(t, Config{})
	now := e.clock.Now()
	stream := encodeFrags(t, frags(1, 2))
	if a := e.upload(t, "cam-n1", stream); a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	e.report(t, uplink.Status{UplinkBPS: 1234, Spool: uplink.Spool{Dropped: 3, OldestPending: now.Add(-time.Minute)},
		Cameras: []uplink.CameraStatus{{ID: "cam-n1", Backlog: uplink.Backlog{Fragments: 2, Bytes: 999}}}})
	want := map[string]float64{
		"vigil_gateway_up":                      1,
		"vigil_gateway_backlog_bytes":           999,
		"vigil_gateway_backlog_seconds":         60,
		"vigil_gateway_uplink_bytes_per_second": 1234,
		"vigil_gateway_received_bytes_total":    float64(len(stream)),
		"vigil_gateway_dropped_fragments":       3,
	}
	mfs, err := e.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["gateway"] != "gw-n" || labels["site"] != "north" {
				t.Errorf("%s labels %v", mf.GetName(), labels)
			}
			got[mf.GetName()] = value(m)
		}
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	e.clock.Add(11 * time.Second)
	mfs, _ = e.prom.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "vigil_gateway_up" && value(mf.GetMetric()[0]) != 0 {
			t.Error("vigil_gateway_up still 1 after 11 s without a report")
		}
	}
}

func value(m *dto.Metric) float64 {
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}
