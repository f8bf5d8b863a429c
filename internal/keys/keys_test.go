package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateCreatesThenReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	h, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{PrivateFile, 0o600}, {PublicFile, 0o644}} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, st.Mode().Perm(), f.mode)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("key dir: %v %v, want mode 0700", st.Mode(), err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	msg := []byte("export manifest")
	if !ed25519.Verify(h.Public(), msg, h.Sign(msg)) {
		t.Fatal("signature does not verify with the public key")
	}
	pubFile, err := os.ReadFile(filepath.Join(dir, PublicFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pubFile, h.PublicPEM()) {
		t.Errorf("public key file differs from PublicPEM")
	}
	if pub, err := ParsePublic(pubFile); err != nil || !pub.Equal(h.Public()) {
		t.Errorf("public key file: %v, equal %v", err, pub.Equal(h.Public()))
	}
	privBefore, _ := os.ReadFile(filepath.Join(dir, PrivateFile))

	h2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !h2.Public().Equal(h.Public()) || h2.Fingerprint() != h.Fingerprint() {
		t.Fatal("reload gave another key")
	}
	if privAfter, _ := os.ReadFile(filepath.Join(dir, PrivateFile)); !bytes.Equal(privBefore, privAfter) {
		t.Fatal("reload rewrote the private key file")
	}

	other, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.Public().Equal(h.Public()) {
		t.Fatal("two key directories got the same key")
	}
}

func TestLoadOrCreateRewritesMissingPublicKey(t *testing.T) {
	dir := t.TempDir()
	h, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, PublicFile)); err != nil {
		t.Fatal(err)
	}
	h2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, PublicFile))
	if err != nil || !bytes.Equal(got, h.PublicPEM()) || !h2.Public().Equal(h.Public()) {
		t.Fatalf("public key not rewritten from the private key: %v", err)
	}
}

// pemOf encodes der as a PEM block of type typ.
func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// badPrivateKeys are private key files LoadOrCreate must refuse, with a
// part of the error they must give. They seed FuzzParsePrivate too.
func badPrivateKeys(t testing.TB) []struct {
	name, data, want string
} {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	good := pemOf("PRIVATE KEY", edDER)
	return []struct{ name, data, want string }{
		{"empty", "", "no PEM"},
		{"garbage", "not a key at all\n", "no PEM"},
		{"truncated", string(good[:len(good)/2]), "no PEM"},
		{"wrong PEM type", string(pemOf("EC PRIVATE KEY", ecDER)), `"EC PRIVATE KEY"`},
		{"ECDSA key", string(pemOf("PRIVATE KEY", ecDER)), "not an Ed25519 private key"},
		{"corrupt DER", string(pemOf("PRIVATE KEY", edDER[:len(edDER)-3])), "not a PKCS #8"},
		{"public key instead", string(pemOf("PUBLIC KEY", []byte{1, 2, 3})), `"PUBLIC KEY"`},
		{"data after the block", string(good) + "extra", "data after"},
	}
}

func TestLoadOrCreateRefusesBadPrivateKey(t *testing.T) {
	for _, tc := range badPrivateKeys(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, PrivateFile)
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreate(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, path, tc.want)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.data {
				t.Fatal("the bad key file was replaced")
			}
			if _, err := os.Stat(filepath.Join(dir, PublicFile)); err == nil {
				t.Fatal("a public key file was written for a bad private key")
			}
		})
	}
}

func TestLoadOrCreateRefusesMismatchedPublicKey(t *testing.T) {
	other, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		withKey bool // a private key is there
		pub     []byte
		want    string
	}{
		{"public key of another key", true, other.PublicPEM(), "does not match the private key"},
		{"corrupt public key", true, []byte("garbage"), "no PEM"},
		{"public key without its private key", false, other.PublicPEM(), "restore the private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.withKey {
				if _, err := LoadOrCreate(dir); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, PublicFile), tc.pub, 0o644); err != nil {
				t.Fatal(err)
			}
			priv, _ := os.ReadFile(filepath.Join(dir, PrivateFile))
			if _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if now, _ := os.ReadFile(filepath.Join(dir, PrivateFile)); !bytes.Equal(now, priv) {
				t.Fatal("the private key file changed")
			}
			if now, _ := os.ReadFile(filepath.Join(dir, PublicFile)); !bytes.Equal(now, tc.pub) {
				t.Fatal("the public key file changed")
			}
		})
	}
}

func TestLoadOrCreateUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), PrivateFile) {
		t.Fatalf("error %v, want one naming %s", err, PrivateFile)
	}
}

// FuzzParsePrivate: the key file parser never panics, and what it accepts
// is an Ed25519 key that signs.
func FuzzParsePrivate(f *testing.F) {
	for _, tc := range badPrivateKeys(f) {
		f.Add([]byte(tc.data))
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ed)
	f.Add(pemOf("PRIVATE KEY", der))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivate(data)
		if err != nil {
			return
		}
		msg := []byte("m")
		if !ed25519.Verify(k.Public().(ed25519.PublicKey), msg, ed25519.Sign(k, msg)) {
			t.Fatal("accepted key does not sign")
		}
	})
}

// FuzzParsePublic: the public key parser never panics.
func FuzzParsePublic(f *testing.F) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	h, err := newHub(ed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.PublicPEM())
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		if pub, err := ParsePublic(data); err == nil && len(pub) != ed25519.PublicKeySize {
			t.Fatalf("accepted a key of %d bytes", len(pub))
		}
	})
}
