package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/testutil"
)

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	c, err := Load(Options{Dir: dir, Hosts: []string{"0.0.0.0", "cam-hub.example", "10.1.2.3", ""}})
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Certificate.Leaf
	if !c.Generated || c.CertFile != filepath.Join(dir, CertName) {
		t.Errorf("generated %v, file %s", c.Generated, c.CertFile)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	if want := []string{"10.1.2.3", "127.0.0.1", "::1"}; !slices.Equal(ips, want) {
		t.Errorf("IP SANs %v, want %v", ips, want)
	}
	if want := []string{"localhost", "cam-hub.example"}; !slices.Equal(leaf.DNSNames, want) {
		t.Errorf("DNS SANs %v, want %v", leaf.DNSNames, want)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 364*24*time.Hour || d > 367*24*time.Hour {
		t.Errorf("validity %v", d)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v", leaf.PublicKeyAlgorithm)
	}
	for name, want := range map[string]os.FileMode{KeyName: 0o600, CertName: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v, %v (want %v)", name, st.Mode().Perm(), err, want)
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode().Perm())
	}
}

func TestReuseAndRegenerate(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	first, err := Load(Options{Dir: dir, Now: clock, Validity: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	serial := func(c *Cert) string { return c.Certificate.Leaf.SerialNumber.String() }
	cases := []struct {
		name  string
		after time.Duration
		hosts []string
		same  bool
	}{
		{"second start reuses", time.Hour, nil, true},
		{"covered host reuses", time.Hour, []string{"127.0.0.1", "localhost"}, true},
		{"new host regenerates", time.Hour, []string{"hub.example"}, false},
		{"expiring regenerates", 47 * time.Hour, nil, false},
		{"expired regenerates", 72 * time.Hour, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			for _, n := range []string{CertName, KeyName} {
				b, _ := os.ReadFile(filepath.Join(dir, n))
				os.WriteFile(filepath.Join(d, n), b, 0o600)
			}
			at := now.Add(c.after)
			got, err := Load(Options{Dir: d, Hosts: c.hosts, Now: func() time.Time { return at }, Validity: 48 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if same := serial(got) == serial(first); same != c.same {
				t.Fatalf("same certificate %v, want %v", same, c.same)
			}
			if !c.same && !got.Certificate.Leaf.NotAfter.After(at.Add(24*time.Hour)) {
				t.Fatalf("regenerated certificate ends %v", got.Certificate.Leaf.NotAfter)
			}
		})
	}
}

func TestConfiguredCertificate(t *testing.T) {
	gen, err := Load(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(gen.CertFile)
	c, err := Load(Options{CertFile: filepath.Join(dir, CertName), KeyFile: filepath.Join(dir, KeyName), Dir: filepath.Join(t.TempDir(), "unused")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated || !bytes.Equal(c.Certificate.Certificate[0], gen.Certificate.Certificate[0]) {
		t.Fatal("configured certificate not used as is")
	}
	for _, o := range []Options{
		{CertFile: filepath.Join(dir, CertName)},
		{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: filepath.Join(dir, KeyName)},
		{CertFile: filepath.Join(dir, KeyName), KeyFile: filepath.Join(dir, CertName)},
	} {
		if _, err := Load(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestHTTPSWithPinnedCertificate serves HTTPS with a generated certificate
// and fetches from it with a client that trusts only that certificate.
func TestHTTPSWithPinnedCertificate(t *testing.T) {
	ctx := testutil.Context(t, 10*time.Second)
	c, err := Load(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("request not over TLS")
		}
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	pem, err := os.ReadFile(c.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("cert.pem holds no certificate")
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+net.JoinHostPort(host, port)+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("%s: body %q", host, body)
		}
	}
	// A client with the system roots refuses the self-signed certificate.
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+ln.Addr().String()+"/", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("self-signed certificate trusted without pinning")
	}
}
