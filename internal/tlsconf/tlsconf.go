// Package tlsconf gives the hub its TLS certificate: the one the user
// configured, or a self-signed one generated on first start (and again
// once it has expired or no longer names the configured hosts) in a
// directory of the data dir. Nothing is reloaded at runtime.
package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names of a generated certificate inside Options.Dir.
const (
	CertName = "cert.pem"
	KeyName  = "key.pem"
)

// DefaultValidity is how long a generated certificate is valid.
const DefaultValidity = 365 * 24 * time.Hour

// renewBefore: a generated certificate this close to expiry is replaced.
const renewBefore = 24 * time.Hour

// Options says where the certificate comes from.
type Options struct {
	// CertFile and KeyFile are a user's PEM certificate (chain) and key.
	// Both or neither; when set, nothing is generated.
	CertFile, KeyFile string
	// Dir holds the generated certificate (cert.pem, key.pem 0600).
	Dir string
	// Hosts are names or IPs the generated certificate must cover besides
	// localhost, 127.0.0.1 and ::1 (e.g. the hosts of the listen
	// addresses). Wildcard addresses (0.0.0.0, ::, "") are skipped.
	Hosts []string
	// Validity of a generated certificate. It defaults to DefaultValidity.
	Validity time.Duration
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
}

// Cert is a loaded certificate.
type Cert struct {
	// Certificate is the key pair, with Leaf set.
	Certificate tls.Certificate
	// CertFile is the PEM file the certificate was read from.
	CertFile string
	// Generated is true when the hub made it (self-signed).
	Generated bool
}

// Config returns a server TLS config (TLS 1.2 or later) serving c.
func (c *Cert) Config() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Certificate}, MinVersion: tls.VersionTLS12}
}

// Load returns the configured certificate, or the generated one in o.Dir,
// generating it when missing, expired (or within a day of it) or not
// covering every host.
func Load(o Options) (*Cert, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Validity <= 0 {
		o.Validity = DefaultValidity
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("tls: set both cert and key, or neither")
	}
	if o.CertFile != "" {
		c, err := loadPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load configured certificate: %w", err)
		}
		return c, nil
	}
	certPath, keyPath := filepath.Join(o.Dir, CertName), filepath.Join(o.Dir, KeyName)
	if c, err := loadPair(certPath, keyPath); err == nil && usable(c.Certificate.Leaf, o) {
		c.Generated = true
		return c, nil
	}
	if err := generate(certPath, keyPath, o); err != nil {
		return nil, fmt.Errorf("tls: generate certificate: %w", err)
	}
	c, err := loadPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("tls: load generated certificate: %w", err)
	}
	c.Generated = true
	return c, nil
}

func loadPair(certPath, keyPath string) (*Cert, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &Cert{Certificate: pair, CertFile: certPath}, nil
}

// usable reports whether a generated certificate can be kept.
func usable(leaf *x509.Certificate, o Options) bool {
	now := o.Now()
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range sans(o.Hosts) {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// sans returns the names and IPs a generated certificate covers.
func sans(hosts []string) []string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range hosts {
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			continue
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func generate(certPath, keyPath string, o Options) error {
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := o.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Vigil"}, CommonName: "vigil hub (self-signed)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(o.Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: clients pin it as their root
	}
	for _, h := range sans(o.Hosts) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// Key first: a crash between the two writes leaves a cert that does
	// not match, which the next start replaces.
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFile writes data to path through a temporary file, fsync and rename.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
