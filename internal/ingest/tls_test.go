package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/tlsconf"
)

// TestRTSPS publishes with ffmpeg over rtsps:// to a server with a
// generated certificate and reads the stream
// back with a gortsplib client pinned to it; plain RTSP and clients that
// do not trust the certificate are refused.
func TestRTSPS(t *testing.T) {
	ffmpeg := testutil.RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cert, err := tlsconf.Load(tlsconf.Options{Dir: filepath.Join(t.TempDir(), "tls")})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, ctx, Config{TLSConfig: cert.Config()})
	col := ts.collect("cam1")
	secureURL := "rtsps://" + testUser + ":" + testPass + "@" + ts.Addr() + "/cam1"
	// ffmpeg 5.1's RTSP muxer does not pass -tls_verify/-ca_file to its
	// TLS layer, so it publishes without checking the certificate; the
	// gortsplib reader below is the peer that verifies it.
	push := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "75", "-c:v", "libx264",
		"-pix_fmt", "yuv420p", "-g", "25", "-bf", "0", "-preset", "ultrafast", "-x264-params", "scenecut=0",
		"-f", "rtsp", "-rtsp_transport", "tcp", secureURL)
	var stderr strings.Builder
	push.Stderr = &stderr
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	pushDone := make(chan error, 1)
	go func() { pushDone <- push.Wait() }()

	waitFor(t, ctx, "first frames over rtsps", func() bool { return len(col.videoUnits()) >= 10 })
	pem, err := os.ReadFile(cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cases := []struct {
		name    string
		scheme  string
		tls     *tls.Config
		wantErr bool
	}{
		{"pinned certificate reads", "rtsps", &tls.Config{RootCAs: pool}, false},
		{"untrusted certificate refused", "rtsps", &tls.Config{}, true},
		{"plain rtsp refused", "rtsp", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := describe(c.scheme, ts.Addr(), c.tls, c.scheme+"://"+testUser+":"+testPass+"@"+ts.Addr()+"/cam1")
			if (err != nil) != c.wantErr {
				t.Fatalf("describe: %v (want error %v)", err, c.wantErr)
			}
		})
	}
	if err := <-pushDone; err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	waitFor(t, ctx, "end of publish", func() bool { _, _, ends := col.state(); return ends == 1 })
	checkFrames(t, col.videoUnits(), 75, 3)
}

func describe(scheme, host string, tc *tls.Config, rawURL string) error {
	c := gortsplib.Client{Scheme: scheme, Host: host, TLSConfig: tc, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Close()
	u, err := base.ParseURL(rawURL)
	if err != nil {
		return err
	}
	desc, _, err := c.Describe(u)
	if err == nil && len(desc.Medias) == 0 {
		return errDescribeEmpty
	}
	return err
}

var errDescribeEmpty = errors.New("describe: no medias")
