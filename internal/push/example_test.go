package push_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/vigil-video/vigil/internal/push"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// This example shows how a gateway forwards one camera's stream to the
// hub: rtsps with the hub's certificate pinned, the gateway's credential
// as the RTSP password, restarted with backoff by package supervise.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st := stream.New("gate-1", stream.Options{}) // fed by the camera's source
	var hubCertSHA256 [32]byte                   // learnt at enrolment
	pinned := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // replaced by the pin check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || sha256.Sum256(raw[0]) != hubCertSHA256 {
				return errors.New("hub certificate does not match the pin")
			}
			return nil
		},
	}
	cfg := push.Config{URL: "rtsps://hub.example:8554/gate-1", User: "gw-7", Pass: "credential", TLS: pinned}
	stats := &push.Stats{}
	log := slog.New(slog.DiscardHandler)
	_ = supervise.Run(ctx, log, "push gate-1", supervise.Options{}, func(ctx context.Context) error {
		return push.Run(ctx, st, cfg, log, stats)
	})
}
