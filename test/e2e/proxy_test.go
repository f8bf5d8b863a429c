package e2e

import (
	"testing"

	"github.com/vigil-video/vigil/internal/tcpproxy"
)

// proxy stands for a site's uplink (see internal/tcpproxy).
type proxy = tcpproxy.Proxy

// startProxy listens on 127.0.0.1:0 and forwards to target; the test's
// cleanup closes it and waits for its goroutines.
func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	p, err := tcpproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
