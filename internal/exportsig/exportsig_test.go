package exportsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// testKey is an Ed25519 Signer.
type testKey struct{ priv ed25519.PrivateKey }

func (k testKey) Sign(msg []byte) []byte    { return ed25519.Sign(k.priv, msg) }
func (k testKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

func newKey(t testing.TB) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv}
}

// signed returns a file, its manifest and its signature by k.
func signed(t testing.TB, k testKey) (file []byte, m Manifest, value string) {
	t.Helper()
	file = make([]byte, 100_000)
	for i := range file {
		file[i] = byte(i * 7)
	}
	sum := sha256.Sum256(file)
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	m = Manifest{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(file)), Camera: "gate-1",
		From: from, To: from.Add(10 * time.Minute), Exporter: "ann", Reason: `incident 42: "théft" <b>`,
		Time: from.Add(time.Hour)}
	value, err := Sign(k, m)
	if err != nil {
		t.Fatal(err)
	}
	return file, m, value
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := newKey(t)
	file, m, value := signed(t, k)
	got, err := Verify(k.Public(), value, bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.V, want.Key = 1, Fingerprint(k.Public())
	want.From, want.To, want.Time = m.From.UTC(), m.To.UTC(), m.Time.UTC()
	if got != want {
		t.Fatalf("manifest\n got %+v\nwant %+v", got, want)
	}
	// The manifest's field order is part of the format.
	_, body, _, err := Decode(value)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{`"v"`, `"sha256"`, `"size"`, `"camera"`, `"from"`, `"to"`, `"exporter"`, `"reason"`, `"time"`, `"key"`}
	last := -1
	for _, f := range order {
		i := bytes.Index(body, []byte(f+":"))
		if i <= last {
			t.Fatalf("field %s out of order in %s", f, body)
		}
		last = i
	}
	if !bytes.Contains(body, []byte(`"from":"2026-03-01T09:00:00Z"`)) {
		t.Errorf("times are not UTC RFC 3339: %s", body)
	}
}

// flip returns a copy of b with byte i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// reenvelope rebuilds a header value from (possibly changed) parts.
func reenvelope(t testing.TB, manifest, sig []byte) string {
	t.Helper()
	raw, err := json.Marshal(envelope{Manifest: manifest, Sig: sig})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func TestVerifyRefusesChanges(t *testing.T) {
	k := newKey(t)
	file, _, value := signed(t, k)
	_, body, sig, err := Decode(value)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := Sign(k, Manifest{SHA256: strings.Repeat("ab", 32), Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, sig2, _ := Decode(otherSig)
	// The manifest with the camera changed, signature kept.
	forged := bytes.Replace(body, []byte(`"gate-1"`), []byte(`"gate-2"`), 1)
	tests := []struct {
		name  string
		pub   ed25519.PublicKey
		value string
		file  []byte
		want  error
	}{
		{"first byte of the file", k.Public(), value, flip(file, 0), ErrFileChanged},
		{"a middle byte of the file", k.Public(), value, flip(file, len(file)/2), ErrFileChanged},
		{"last byte of the file", k.Public(), value, flip(file, len(file)-1), ErrFileChanged},
		{"a byte more", k.Public(), value, append(bytes.Clone(file), 0), ErrFileChanged},
		{"a byte less", k.Public(), value, file[:len(file)-1], ErrFileChanged},
		{"first byte of the signature", k.Public(), reenvelope(t, body, flip(sig, 0)), file, ErrBadSignature},
		{"last byte of the signature", k.Public(), reenvelope(t, body, flip(sig, len(sig)-1)), file, ErrBadSignature},
		{"signature of another manifest", k.Public(), reenvelope(t, body, sig2), file, ErrBadSignature},
		{"a manifest byte", k.Public(), reenvelope(t, forged, sig), file, ErrBadSignature},
		{"wrong key", newKey(t).Public(), value, file, ErrWrongKey},
		{"a character of the header value", k.Public(), value[:10] + string(value[10]^1) + value[11:], file, ErrMalformed},
		{"truncated header value", k.Public(), value[:len(value)-8], file, ErrMalformed},
		{"empty header value", k.Public(), "", file, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Verify(tc.pub, tc.value, bytes.NewReader(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if m != (Manifest{}) {
				t.Fatalf("a manifest came back with the error: %+v", m)
			}
		})
	}
	// The intact pair still verifies (the cases above changed copies).
	if _, err := Verify(k.Public(), value, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
}

// badValues are header values Decode refuses, for the table test and the
// fuzz corpus.
func badValues(t testing.TB) []struct{ name, value, want string } {
	t.Helper()
	k := newKey(t)
	_, _, value := signed(t, k)
	_, body, sig, _ := Decode(value)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	withManifest := func(s string) string { return reenvelope(t, []byte(s), sig) }
	v2 := bytes.Replace(body, []byte(`{"v":1,`), []byte(`{"v":2,`), 1)
	return []struct{ name, value, want string }{
		{"not base64", "%%%", "not base64"},
		{"not JSON", b64("hello"), "invalid character"},
		{"JSON array", b64("[]"), "cannot unmarshal"},
		{"unknown field", b64(`{"manifest":"","sig":"","x":1}`), "unknown field"},
		{"trailing data", b64(`{"manifest":"","sig":""} {}`), "data after"},
		{"short signature", reenvelope(t, body, sig[:10]), "signature of 10 bytes"},
		{"manifest not JSON", withManifest("nope"), "manifest"},
		{"manifest version 2", withManifest(string(v2)), "version 2"},
		{"manifest without hash", withManifest(`{"v":1,"size":3}`), "sha256"},
		{"uppercase hash", withManifest(`{"v":1,"sha256":"` + strings.Repeat("AB", 32) + `","size":3}`), "sha256"},
		{"negative size", withManifest(`{"v":1,"sha256":"` + strings.Repeat("ab", 32) + `","size":-1}`), "size -1"},
		{"huge value", strings.Repeat("A", maxValue+4), "at most"},
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, tc := range badValues(t) {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := Decode(tc.value)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}

func TestSignRefusesBadManifest(t *testing.T) {
	k := newKey(t)
	for _, m := range []Manifest{{}, {SHA256: "abc", Size: 1}, {SHA256: strings.Repeat("ab", 32), Size: -1}} {
		if _, err := Sign(k, m); err == nil {
			t.Errorf("Sign(%+v) succeeded", m)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to a
// value it decodes the same way.
func FuzzDecode(f *testing.F) {
	for _, tc := range badValues(f) {
		f.Add(tc.value)
	}
	_, _, value := signed(f, newKey(f))
	f.Add(value)
	f.Fuzz(func(t *testing.T, value string) {
		m, body, sig, err := Decode(value)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		m2, body2, sig2, err := Decode(reenvelope(t, body, sig))
		if err != nil || m2 != m || !bytes.Equal(body, body2) || !bytes.Equal(sig, sig2) {
			t.Fatalf("re-encoded value decodes differently: %v", err)
		}
	})
}
