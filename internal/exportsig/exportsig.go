// Package exportsig is the detached signature of an export: a manifest
// (file hash and size, camera, time range, exporter, reason, signing time,
// key fingerprint) signed with the hub's Ed25519 key and carried in the
// export's Vigil-Signature header. The format is documented in
// docs/format/export-signature.md. Verify checks a file offline.
package exportsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Header is the HTTP header that carries the signature.
const Header = "Vigil-Signature"

// Version is the manifest version this package writes and reads.
const Version = 1

// maxValue bounds a header value Verify accepts (a manifest holds a reason
// of at most a few KiB).
const maxValue = 64 << 10

// Errors of Verify; every error it returns wraps one of them.
var (
	// ErrMalformed: the value is not a signature of this format.
	ErrMalformed = errors.New("malformed signature")
	// ErrWrongKey: the manifest names another key than the one given.
	ErrWrongKey = errors.New("signed with another key")
	// ErrBadSignature: the signature does not match the manifest.
	ErrBadSignature = errors.New("signature does not match its manifest")
	// ErrFileChanged: the file is not the one the manifest describes.
	ErrFileChanged = errors.New("file does not match the signed manifest")
)

// Manifest is what is signed. Its JSON form has the fields in this order.
type Manifest struct {
	// V is the format version (1).
	V int `json:"v"`
	// SHA256 is the hex SHA-256 of the whole file.
	SHA256 string `json:"sha256"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Camera is the camera's id.
	Camera string `json:"camera"`
	// From and To are what the file covers (the export's
	// Vigil-Export-Start and Vigil-Export-End).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Exporter is the user who asked for the export.
	Exporter string `json:"exporter"`
	// Reason is the reason the user gave.
	Reason string `json:"reason"`
	// Time is when the hub signed.
	Time time.Time `json:"time"`
	// Key is the hex SHA-256 of the signing public key's 32 bytes.
	Key string `json:"key"`
}

// Signer signs with an Ed25519 key (keys.Hub).
type Signer interface {
	// Sign signs msg.
	Sign(msg []byte) []byte
	// Public returns the public key.
	Public() ed25519.PublicKey
}

// envelope is the JSON inside the header value.
type envelope struct {
	Manifest []byte `json:"manifest"` // the manifest's JSON bytes (base64 in JSON)
	Sig      []byte `json:"sig"`      // Ed25519 signature of Manifest (base64 in JSON)
}

// Fingerprint returns the hex SHA-256 of an Ed25519 public key's 32 bytes
// (Manifest.Key).
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// Sign returns the Vigil-Signature value of m, signed by s. It sets m.V
// and m.Key and writes the times in UTC; m.SHA256 must be a hex SHA-256
// and m.Size not negative.
func Sign(s Signer, m Manifest) (string, error) {
	if _, err := hexSum(m.SHA256); err != nil || m.Size < 0 {
		return "", fmt.Errorf("sign export: sha256 %q, size %d: need a hex SHA-256 and a size", m.SHA256, m.Size)
	}
	m.V, m.Key = Version, Fingerprint(s.Public())
	m.From, m.To, m.Time = m.From.UTC(), m.To.UTC(), m.Time.UTC()
	body, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sign export: encode manifest: %w", err)
	}
	env, err := json.Marshal(envelope{Manifest: body, Sig: s.Sign(body)})
	if err != nil {
		return "", fmt.Errorf("sign export: encode signature: %w", err)
	}
	return base64.StdEncoding.EncodeToString(env), nil
}

// Decode parses a Vigil-Signature value without checking anything but its
// form: the manifest, its exact bytes and the signature.
func Decode(value string) (m Manifest, manifest, sig []byte, err error) {
	if len(value) > maxValue {
		return m, nil, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(value), maxValue)
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace([]byte(value))))
	if err != nil {
		return m, nil, nil, fmt.Errorf("%w: not base64: %v", ErrMalformed, err)
	}
	var env envelope
	if err := strictJSON(raw, &env); err != nil {
		return m, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(env.Sig) != ed25519.SignatureSize {
		return m, nil, nil, fmt.Errorf("%w: signature of %d bytes, want %d", ErrMalformed, len(env.Sig), ed25519.SignatureSize)
	}
	if err := strictJSON(env.Manifest, &m); err != nil {
		return m, nil, nil, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if m.V != Version {
		return m, nil, nil, fmt.Errorf("%w: manifest version %d, this vigil reads %d", ErrMalformed, m.V, Version)
	}
	if _, err := hexSum(m.SHA256); err != nil || m.Size < 0 {
		return m, nil, nil, fmt.Errorf("%w: manifest sha256 %q, size %d", ErrMalformed, m.SHA256, m.Size)
	}
	return m, env.Manifest, env.Sig, nil
}

// Verify checks the Vigil-Signature value against the public key pub and
// the file's bytes: the manifest must name pub, the signature must match
// the manifest, and file must have the manifest's size and SHA-256. It
// returns the manifest when all hold; its error wraps ErrMalformed,
// ErrWrongKey, ErrBadSignature or ErrFileChanged, or is a read error.
func Verify(pub ed25519.PublicKey, value string, file io.Reader) (Manifest, error) {
	m, body, sig, err := Decode(value)
	if err != nil {
		return Manifest{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Manifest{}, fmt.Errorf("verify export: public key of %d bytes", len(pub))
	}
	if fp := Fingerprint(pub); m.Key != fp {
		return Manifest{}, fmt.Errorf("%w: the manifest names key %s, the given key is %s", ErrWrongKey, m.Key, fp)
	}
	if !ed25519.Verify(pub, body, sig) {
		return Manifest{}, ErrBadSignature
	}
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return Manifest{}, fmt.Errorf("verify export: read file: %w", err)
	}
	if n != m.Size {
		return Manifest{}, fmt.Errorf("%w: %d bytes, signed %d", ErrFileChanged, n, m.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return Manifest{}, fmt.Errorf("%w: SHA-256 %s, signed %s", ErrFileChanged, got, m.SHA256)
	}
	return m, nil
}

// strictJSON decodes exactly one JSON object into v, refusing unknown
// fields and trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// hexSum decodes a lowercase hex SHA-256.
func hexSum(s string) ([]byte, error) {
	if len(s) != 2*sha256.Size || s != strings.ToLower(s) {
		return nil, errors.New("not a lowercase hex SHA-256")
	}
	return hex.DecodeString(s)
}
