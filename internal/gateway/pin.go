package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/vigil-video/vigil/internal/gateways"
)

// ErrPinMismatch is wrapped by every error about a hub certificate that
// does not match the pinned hash.
var ErrPinMismatch = errors.New("hub certificate does not match the pinned hash")

// splitToken returns the hub certificate pin an enrolment token carries
// ("vge_<random>~<64 hex>", parsed by gateways.TokenPin; "" when it has
// none). A token with a "~" but no well-formed pin is refused rather than
// silently trusted on first use. The whole token is what is sent.
func splitToken(token string) (string, error) {
	if pin, ok := gateways.TokenPin(token); ok {
		return pin, nil
	}
	if strings.Contains(token, "~") {
		return "", fmt.Errorf("%w: enrolment token: the part after ~ is not a certificate hash (64 lowercase hex digits)", ErrBadSetup)
	}
	return "", nil
}

// normalizePin checks a hex SHA-256 and returns it in lower case.
func normalizePin(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("want %d hex digits, got %d characters", 2*sha256.Size, len(s))
	}
	return hex.EncodeToString(b), nil
}

// certHash is the hex SHA-256 of a DER certificate.
func certHash(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// PinnedTLS returns a client TLS config that accepts exactly the
// certificate whose DER SHA-256 is pin (hex): chain and name checks are
// replaced by the pin check, which runs during the handshake, before any
// request is sent.
func PinnedTLS(pin string) *tls.Config {
	want := strings.ToLower(pin)
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("%w: no certificate presented", ErrPinMismatch)
			}
			if got := certHash(raw[0]); got != want {
				return fmt.Errorf("%w: got sha256 %s, pinned %s", ErrPinMismatch, got, want)
			}
			return nil
		},
	}
}

// tofuTLS returns a client TLS config that accepts any certificate and
// remembers the hash of the one presented (trust on first use).
func tofuTLS() (*tls.Config, func() string) {
	var mu sync.Mutex
	var seen string
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // trust on first use: the hash is checked against the hub's answer
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("hub presented no certificate")
			}
			mu.Lock()
			seen = certHash(raw[0])
			mu.Unlock()
			return nil
		},
	}
	return cfg, func() string { mu.Lock(); defer mu.Unlock(); return seen }
}

// loopbackURL reports whether u's host is a loopback address.
func loopbackURL(u *url.URL) bool {
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
