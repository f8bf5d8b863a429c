package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/gateway"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestGatewayAgainstHub runs a real gateway against a real hub (every
// route, the uplink and the RTSP ingest, on loopback): it enrols with the
// token the API gave, pulls a simulated camera of its site, and its
// recordings appear in the hub's timeline (the hub records a gateway
// site's cameras only from uploads), its live push makes the camera online
// at the hub, and the hub shows the gateway online.
func TestGatewayAgainstHub(t *testing.T) {
	ctx := testutil.Context(t, 60*time.Second)
	th := startTestHub(t, ctx)
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Names: []string{"door"}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ctx, s.Run, s.Ready())
	root := th.login(t, ctx, "admin", testAdminPassword)
	th.call(t, ctx, "POST", v1+"/sites", `{"id":"north"}`, root).mustStatus(t, 201)
	var created struct{ Token string }
	a := th.call(t, ctx, "POST", v1+"/gateways", `{"id":"gw-n","site":"north"}`, root).mustStatus(t, 201)
	if err := json.Unmarshal([]byte(a.body), &created); err != nil || created.Token == "" {
		t.Fatalf("gateway created: %s", a.body)
	}
	th.call(t, ctx, "POST", v1+"/cameras", `{"id":"door-1","site":"north","transport":"tcp","source":"`+s.URL("door")+`"}`, root).mustStatus(t, 201)

	g, err := gateway.New(gateway.Config{Hub: th.base, Token: created.Token, DataDir: filepath.Join(t.TempDir(), "gw"),
		StatusInterval: 500 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gwCtx, stopGW := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(gwCtx) }()
	defer func() {
		stopGW()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	}()

	from := url.QueryEscape(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	recorded := func() time.Duration {
		var rec struct {
			Spans []struct{ Start, End time.Time }
		}
		a := th.call(t, ctx, "GET", v1+"/cameras/door-1/recordings?from="+from, "", root)
		if a.status != 200 || json.Unmarshal([]byte(a.body), &rec) != nil {
			return 0
		}
		var d time.Duration
		for _, sp := range rec.Spans {
			d += sp.End.Sub(sp.Start)
		}
		return d
	}
	for recorded() < 3*time.Second {
		select {
		case <-ctx.Done():
			t.Fatalf("the hub recorded %v of the gateway's camera", recorded())
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Live: the gateway's push makes the camera online at the hub.
	for {
		var cam struct{ Status struct{ State string } }
		a := th.call(t, ctx, "GET", v1+"/cameras/door-1", "", root).mustStatus(t, 200)
		if json.Unmarshal([]byte(a.body), &cam) == nil && cam.Status.State == "online" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("camera never online at the hub (live push): %s", a.body)
		case <-time.After(200 * time.Millisecond):
		}
	}
	var list struct {
		Gateways []struct {
			ID       string
			Revoked  bool
			Enrolled string `json:"enrolled_at"`
			Status   struct{ Online bool }
		}
	}
	for {
		a := th.call(t, ctx, "GET", v1+"/gateways", "", root).mustStatus(t, 200)
		if err := json.Unmarshal([]byte(a.body), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Gateways) == 1 && list.Gateways[0].Enrolled != "" && list.Gateways[0].Status.Online {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gateway never shown online: %s", a.body)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
