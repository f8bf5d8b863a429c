package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/vigil-video/vigil/internal/config"
	"github.com/vigil-video/vigil/internal/testutil"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const tlsTestPassword = "tls-admin-pass-1"

// runHubTLS runs a hub on data with TLS on loopback until stop is called.
func runHubTLS(t *testing.T, ctx context.Context, data string) (h *hub, out *syncBuffer, stop func()) {
	t.Helper()
	cfg, err := config.Parse([]byte("data: " + data + "\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\ntls: {enable: true}\n" +
		"log: {level: error}\ncameras: [{id: gate, source: 'rtsp://admin:hunter2@127.0.0.1:1/x', transport: tcp}]\n"))
	if err == nil {
		err = cfg.Finish()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_ADMIN_PASSWORD", tlsTestPassword)
	out = &syncBuffer{}
	if h, err = newHub(ctx, cfg, out); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx, out) }()
	for !strings.Contains(out.String(), "hub ready") {
		select {
		case err := <-done:
			t.Fatalf("hub stopped: %v", err)
		case <-ctx.Done():
			t.Fatal("hub not ready")
		case <-time.After(10 * time.Millisecond):
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("hub: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return h, out, stop
}

// TestHubTLSAndSealedCredentials runs a hub with TLS on loopback: HTTPS
// with the generated certificate pinned, Secure session cookies, RTSPS,
// the https:// ready line, and camera credentials sealed in the index
// with DATA_DIR/keys/secrets.key; a second start reuses certificate and
// key, and a wrong key stops the hub at start.
func TestHubTLSAndSealedCredentials(t *testing.T) {
	ctx := testutil.Context(t, 60*time.Second)
	data := filepath.Join(t.TempDir(), "data")
	h, out, stop := runHubTLS(t, ctx, data)
	httpAddr, rtspAddr := h.httpLn.Addr().String(), h.rtspAddr()
	if want := fmt.Sprintf("http=https://%s rtsp=rtsps://%s ", httpAddr, rtspAddr); !strings.Contains(out.String(), want) {
		t.Fatalf("ready line lacks %q:\n%s", want, out.String())
	}
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in cert.pem")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	// HTTPS login: the session cookie is Secure.
	req, _ := http.NewRequestWithContext(ctx, "POST", "https://"+httpAddr+"/api/v1/login",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, tlsTestPassword)))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "vigil_session" {
			session = c
		}
	}
	if res.StatusCode != http.StatusOK || res.TLS == nil || session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("login over https: %d, tls %v, cookie %+v", res.StatusCode, res.TLS != nil, session)
	}
	// The camera's answer never holds the password.
	req, _ = http.NewRequestWithContext(ctx, "GET", "https://"+httpAddr+"/api/v1/cameras/gate", nil)
	req.AddCookie(session)
	if res, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.Contains(string(body), "hunter2") {
		t.Fatalf("camera: %d %s", res.StatusCode, body)
	}
	// Plain HTTP is not served.
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+httpAddr+"/healthz", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 on a TLS listener")
		}
	}
	// RTSPS with the same certificate: an RTSP answer (the pulled camera
	// is offline: 404) proves the TLS session; plain RTSP gets none.
	for _, c := range []struct {
		scheme, want string
	}{{"rtsps", "404"}, {"rtsp", ""}} {
		rc := gortsplib.Client{Scheme: c.scheme, Host: rtspAddr, TLSConfig: &tls.Config{RootCAs: pool},
			ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
		if err := rc.Start(); err != nil {
			t.Fatal(err)
		}
		u, _ := base.ParseURL(c.scheme + "://admin:" + tlsTestPassword + "@" + rtspAddr + "/gate")
		_, _, err := rc.Describe(u)
		rc.Close()
		if err == nil || (c.want != "" && !strings.Contains(err.Error(), c.want)) || (c.want == "" && strings.Contains(err.Error(), "404")) {
			t.Fatalf("%s describe: %v (want %q)", c.scheme, err, c.want)
		}
	}
	firstCert := sha256.Sum256(h.tls.Certificate.Certificate[0])
	stop()

	// At rest: no password in the cameras table; key and TLS key are private.
	checkMode(t, filepath.Join(data, "keys"), 0o700)
	checkMode(t, filepath.Join(data, "keys", "secrets.key"), 0o600)
	checkMode(t, filepath.Join(data, "tls", "key.pem"), 0o600)
	db, err := sql.Open("sqlite", filepath.Join(data, "vigil.db")+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	var src, secret string
	err = db.QueryRowContext(ctx, `SELECT source, source_secret FROM cameras WHERE id = 'gate'`).Scan(&src, &secret)
	db.Close()
	if err != nil || strings.Contains(src+secret, "hunter2") || strings.Contains(src, "admin") || secret == "" {
		t.Fatalf("stored source %q secret %q: %v", src, secret, err)
	}

	// Second start: same certificate, credentials readable.
	h2, _, stop2 := runHubTLS(t, ctx, data)
	if sha256.Sum256(h2.tls.Certificate.Certificate[0]) != firstCert {
		t.Error("second start generated a new certificate")
	}
	if c, err := h2.idx.GetCamera(ctx, "gate"); err != nil || c.Source != "rtsp://admin:hunter2@127.0.0.1:1/x" {
		t.Errorf("second start: source %q, %v", c.Source, err)
	}
	stop2()

	// A different key refuses to start, naming the key, not the secret.
	if err := os.WriteFile(filepath.Join(data, "keys", "secrets.key"), bytes.Repeat([]byte{9}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Parse([]byte("data: " + data + "\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\nlog: {level: error}\n"))
	cfg.SetDefaults()
	_, err = newHub(ctx, cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secrets.key") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("start with a wrong key: %v", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != want {
		t.Errorf("%s: mode %v, %v; want %v", path, st.Mode().Perm(), err, want)
	}
}
