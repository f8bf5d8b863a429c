// Package keys owns the hub's Ed25519 signing key: created once on first
// start in the data directory (DATA_DIR/keys), loaded on every later start,
// never replaced silently. It signs exports (see internal/exportsig) and
// may sign anything else the hub must be able to prove later.
package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigil-video/vigil/internal/exportsig"
)

// File names in the key directory.
const (
	// PrivateFile holds the private key: PKCS #8, PEM type "PRIVATE KEY",
	// mode 0600.
	PrivateFile = "hub_ed25519.pem"
	// PublicFile holds the public key: PKIX, PEM type "PUBLIC KEY", mode
	// 0644. It is derived from the private key and only a convenience.
	PublicFile = "hub_ed25519.pub.pem"
)

// Hub is the hub's signing key. It is safe for concurrent use.
type Hub struct {
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey
	pubPEM []byte
}

// LoadOrCreate loads the hub key from dir, creating dir and a new key
// (written atomically: temporary file, fsync, rename) when dir holds
// neither key file. A corrupt or wrong-type key, or a public key file that
// does not match the private key (or exists without it), is an error: the
// key is never replaced silently.
func LoadOrCreate(dir string) (*Hub, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("hub key: create %s: %w", dir, err)
	}
	privPath, pubPath := filepath.Join(dir, PrivateFile), filepath.Join(dir, PublicFile)
	data, err := os.ReadFile(privPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return create(privPath, pubPath)
	case err != nil:
		return nil, fmt.Errorf("hub key: read %s: %w", privPath, err)
	}
	priv, err := ParsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("hub key: %s: %w", privPath, err)
	}
	h, err := newHub(priv)
	if err != nil {
		return nil, err
	}
	if err := h.ensurePublic(pubPath); err != nil {
		return nil, err
	}
	return h, nil
}

// create makes a new key, refusing when a public key file is already
// there (its private key was lost or moved: creating a new one would
// silently change the hub's identity).
func create(privPath, pubPath string) (*Hub, error) {
	if _, err := os.Lstat(pubPath); err == nil {
		return nil, fmt.Errorf("hub key: %s exists but %s does not: restore the private key, or remove the public key file to create a new key", pubPath, privPath)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("hub key: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("hub key: encode: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeAtomic(privPath, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("hub key: %w", err)
	}
	h, err := newHub(priv)
	if err != nil {
		return nil, err
	}
	if err := h.ensurePublic(pubPath); err != nil {
		return nil, err
	}
	return h, nil
}

func newHub(priv ed25519.PrivateKey) (*Hub, error) {
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("hub key: no Ed25519 public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("hub key: encode public key: %w", err)
	}
	return &Hub{priv: priv, pub: pub, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
}

// ensurePublic writes the public key file when it is missing and checks
// it when it is there.
func (h *Hub) ensurePublic(path string) error {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeAtomic(path, h.pubPEM, 0o644); err != nil {
			return fmt.Errorf("hub key: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("hub key: read %s: %w", path, err)
	}
	pub, err := ParsePublic(data)
	if err != nil {
		return fmt.Errorf("hub key: %s: %w (remove it to write it again from the private key)", path, err)
	}
	if !pub.Equal(h.pub) {
		return fmt.Errorf("hub key: %s does not match the private key (remove it to write it again from the private key)", path)
	}
	return nil
}

// Sign signs msg with the hub's private key.
func (h *Hub) Sign(msg []byte) []byte { return ed25519.Sign(h.priv, msg) }

// Public returns the hub's public key.
func (h *Hub) Public() ed25519.PublicKey { return h.pub }

// PublicPEM returns the public key as PKIX PEM ("PUBLIC KEY"), as in
// PublicFile.
func (h *Hub) PublicPEM() []byte { return bytes.Clone(h.pubPEM) }

// Fingerprint returns the hex SHA-256 of the public key's 32 bytes, which
// tells keys apart.
// It is safe to log.
func (h *Hub) Fingerprint() string { return exportsig.Fingerprint(h.pub) }

// ParsePrivate parses a PEM "PRIVATE KEY" block holding a PKCS #8 Ed25519
// key; anything else (no PEM, another block type, another key type, data
// after the block) is an error that names what was found.
func ParsePrivate(data []byte) (ed25519.PrivateKey, error) {
	der, err := onePEM(data, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 private key", k)
	}
	return priv, nil
}

// ParsePublic parses a PEM "PUBLIC KEY" block holding a PKIX Ed25519
// public key.
func ParsePublic(data []byte) (ed25519.PublicKey, error) {
	der, err := onePEM(data, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 public key", k)
	}
	return pub, nil
}

// onePEM decodes exactly one PEM block of type typ (surrounding
// whitespace allowed).
func onePEM(data []byte, typ string) ([]byte, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("no PEM %q block", typ)
	}
	if b.Type != typ {
		return nil, fmt.Errorf("PEM block %q, want %q", b.Type, typ)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("data after the PEM %q block", typ)
	}
	return b.Bytes, nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory (fsync, rename, fsync of the directory), so path holds either
// nothing or all of data.
func writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
