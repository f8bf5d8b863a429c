package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/gateway"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/testutil"
)

// apiCall sends one admin API request and returns status and body.
type apiCall func(method, path, body string) (int, string)

// TestGatewayAgainstHub runs a real gateway against a real hub (every
// route, the uplink and the RTSP ingest, on loopback, plain HTTP).
func TestGatewayAgainstHub(t *testing.T) {
	ctx := testutil.Context(t, 60*time.Second)
	th := startTestHub(t, ctx)
	root := th.login(t, ctx, "admin", testAdminPassword)
	checkGatewayAgainstHub(t, ctx, th.base, func(method, path, body string) (int, string) {
		a := th.call(t, ctx, method, path, body, root)
		return a.status, a.body
	})
}

// TestGatewayAgainstTLSHub does the same with a hub serving HTTPS and
// RTSPS: the enrolment token carries the hub certificate's pin, which the
// gateway checks before sending it and then pins for uploads and the
// RTSPS live push.
func TestGatewayAgainstTLSHub(t *testing.T) {
	ctx := testutil.Context(t, 60*time.Second)
	data := filepath.Join(t.TempDir(), "data")
	h, _, _ := runHubTLS(t, ctx, data)
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + h.httpLn.Addr().String()
	var session string
	call := func(method, path, body string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if session != "" {
			req.AddCookie(&http.Cookie{Name: "vigil_session", Value: session})
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
		for _, c := range res.Cookies() {
			if c.Name == "vigil_session" {
				session = c.Value
			}
		}
		return res.StatusCode, string(b)
	}
	if st, body := call("POST", v1+"/login", fmt.Sprintf(`{"username":"admin","password":%q}`, tlsTestPassword)); st != 200 {
		t.Fatalf("login: %d %s", st, body)
	}
	checkGatewayAgainstHub(t, ctx, base, call)
}

// checkGatewayAgainstHub creates a site, a gateway and a camera of that
// site (a simulator) through the API, runs a gateway with the token the
// API gave, and waits until the hub has recorded its uploads (the hub
// records a gateway site's cameras only from uploads), shows the camera
// online (the live push) and the gateway online.
func checkGatewayAgainstHub(t *testing.T, ctx context.Context, base string, call apiCall) {
	t.Helper()
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Names: []string{"door"}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ctx, s.Run, s.Ready())
	must := func(want int, method, path, body string) string {
		st, b := call(method, path, body)
		if st != want {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		return b
	}
	must(201, "POST", v1+"/sites", `{"id":"north"}`)
	var created struct{ Token string }
	if err := json.Unmarshal([]byte(must(201, "POST", v1+"/gateways", `{"id":"gw-n","site":"north"}`)), &created); err != nil || created.Token == "" {
		t.Fatalf("gateway created: %v", err)
	}
	if strings.HasPrefix(base, "https://") && !strings.Contains(created.Token, "~") {
		t.Fatalf("a TLS hub's enrolment token carries no certificate pin")
	}
	must(201, "POST", v1+"/cameras", `{"id":"door-1","site":"north","transport":"tcp","source":"`+s.URL("door")+`"}`)

	g, err := gateway.New(gateway.Config{Hub: base, Token: created.Token, DataDir: filepath.Join(t.TempDir(), "gw"),
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
	eventually(t, ctx, "3 s recorded at the hub from the gateway's uploads", func() bool {
		var rec struct {
			Spans []struct{ Start, End time.Time }
		}
		st, body := call("GET", v1+"/cameras/door-1/recordings?from="+from, "")
		if st != 200 || json.Unmarshal([]byte(body), &rec) != nil {
			return false
		}
		var d time.Duration
		for _, sp := range rec.Spans {
			d += sp.End.Sub(sp.Start)
		}
		return d >= 3*time.Second
	})
	eventually(t, ctx, "the camera online at the hub (live push)", func() bool {
		var cam struct{ Status struct{ State string } }
		st, body := call("GET", v1+"/cameras/door-1", "")
		return st == 200 && json.Unmarshal([]byte(body), &cam) == nil && cam.Status.State == "online"
	})
	eventually(t, ctx, "the gateway enrolled and online at the hub", func() bool {
		var list struct {
			Gateways []struct {
				Enrolled string `json:"enrolled_at"`
				Status   struct{ Online bool }
			}
		}
		st, body := call("GET", v1+"/gateways", "")
		return st == 200 && json.Unmarshal([]byte(body), &list) == nil && len(list.Gateways) == 1 &&
			list.Gateways[0].Enrolled != "" && list.Gateways[0].Status.Online
	})
}

// eventually polls cond (state of another process) until ctx ends.
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
