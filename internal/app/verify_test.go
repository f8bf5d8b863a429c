package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/exportsig"
	"github.com/vigil-video/vigil/internal/index/sqlite"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/testutil"
)

// signedFiles writes an export-like file, its signature by a new hub key
// and that key's files into a temporary directory.
type signedFiles struct {
	dir, file, sig, pub, priv, otherPub string
	body                                []byte
	value                               string
}

func newSignedFiles(t *testing.T) signedFiles {
	t.Helper()
	dir := t.TempDir()
	hub, err := keys.LoadOrCreate(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = keys.LoadOrCreate(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	s := signedFiles{dir: dir, file: filepath.Join(dir, "export.mp4"), sig: filepath.Join(dir, "export.sig"),
		pub: filepath.Join(dir, "keys", keys.PublicFile), priv: filepath.Join(dir, "keys", keys.PrivateFile),
		otherPub: filepath.Join(dir, "other", keys.PublicFile)}
	s.body = bytes.Repeat([]byte("ftyp moof mdat "), 5000)
	sum := sha256.Sum256(s.body)
	from := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	s.value, err = exportsig.Sign(hub, exportsig.Manifest{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(s.body)),
		Camera: "gate-1", From: from, To: from.Add(time.Minute), Exporter: "ann", Reason: "incident 42\x1b[2J",
		Time: from.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s.write(t, s.file, s.body)
	s.write(t, s.sig, []byte(s.value+"\n"))
	return s
}

func (s signedFiles) write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// path writes data to a new file of the test directory.
func (s signedFiles) path(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(s.dir, name)
	s.write(t, p, data)
	return p
}

func TestMainVerify(t *testing.T) {
	s := newSignedFiles(t)
	flipped := bytes.Clone(s.body)
	flipped[len(flipped)/3] ^= 0x01
	raw, _ := base64.StdEncoding.DecodeString(s.value)
	rawSig := bytes.Clone(raw)
	rawSig[len(rawSig)-5] ^= 0x01 // inside the base64 of the signature
	tampered := s.path(t, "tampered.mp4", flipped)
	badSig := s.path(t, "bad.sig", []byte(base64.StdEncoding.EncodeToString(rawSig)))
	headerSig := s.path(t, "header.sig", []byte("Vigil-Signature: "+s.value+"\r\n"))
	tests := []struct {
		name        string
		args        []string
		code        int
		out, errOut string // substrings of stdout and stderr
	}{
		{"intact", []string{"--key", s.pub, "--sig", s.sig, s.file}, 0, "intact, signed by key", ""},
		{"file before flags", []string{s.file, "--key", s.pub, "--sig", s.sig}, 0, "camera:   gate-1", ""},
		{"header line as saved by curl", []string{"--key", s.pub, "--sig", headerSig, s.file}, 0, "exporter: ann", ""},
		{"control characters are quoted", []string{"--key", s.pub, "--sig", s.sig, s.file}, 0, `"incident 42\x1b[2J"`, ""},
		{"one byte of the file changed", []string{"--key", s.pub, "--sig", s.sig, tampered}, 1, "", "NOT intact: file does not match"},
		{"one byte of the signature changed", []string{"--key", s.pub, "--sig", badSig, s.file}, 1, "", "NOT intact"},
		{"another key", []string{"--key", s.otherPub, "--sig", s.sig, s.file}, 1, "", "signed with another key"},
		{"signature file not a signature", []string{"--key", s.pub, "--sig", s.file, s.file}, 1, "", "malformed signature"},
		{"help", []string{"-h"}, 0, "usage:", ""},
		{"no arguments", nil, 2, "", "--key and --sig are required"},
		{"no file", []string{"--key", s.pub, "--sig", s.sig}, 2, "", "exactly one FILE"},
		{"two files", []string{"--key", s.pub, "--sig", s.sig, s.file, s.file}, 2, "", "exactly one FILE"},
		{"unknown flag", []string{"--kye", s.pub}, 2, "", "not defined"},
		{"audit with a file", []string{"--audit", s.dir, s.file}, 2, "", "--audit takes no"},
		{"private key given", []string{"--key", s.priv, "--sig", s.sig, s.file}, 2, "", "is a private key"},
		{"missing file", []string{"--key", s.pub, "--sig", s.sig, s.file + ".nope"}, 2, "", "no such file"},
		{"missing key", []string{"--key", s.pub + ".nope", "--sig", s.sig, s.file}, 2, "", "read key"},
		{"audit of no directory", []string{"--audit", filepath.Join(s.dir, "nope")}, 2, "", "not a data directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), append([]string{"verify"}, tc.args...), &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.errOut) {
				t.Fatalf("stdout %q (want %q), stderr %q (want %q)", out.String(), tc.out, errOut.String(), tc.errOut)
			}
			if tc.code != 0 && strings.Contains(out.String(), "intact,") {
				t.Fatal("a failure printed the manifest")
			}
		})
	}
}

// TestMainVerifyAudit writes an audit trail the way the hub does (the hub
// key in DATA/keys, the log in DATA/vigil.db), checks it with vigil verify
// --audit, then edits one row.
func TestMainVerifyAudit(t *testing.T) {
	ctx := testutil.Context(t, 30*time.Second)
	data := t.TempDir()
	hub, err := keys.LoadOrCreate(filepath.Join(data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(ctx, filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	lg, err := audit.New(idx.DB(), hub, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lg.Run(runCtx) }()
	for i := range 5 {
		if err := lg.Record(ctx, audit.Entry{User: "ann", Role: "operator", Action: audit.ActionPlayback,
			Camera: "gate-1", Reason: "incident " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	verify := func() (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(ctx, []string{"verify", "--audit", data}, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := verify(); code != 0 || !strings.Contains(out, "audit trail intact, 5 records") {
		t.Fatalf("intact trail: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// An attacker with the database file drops the append-only trigger
	// and edits one row.
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3`} {
		if _, err := idx.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if code, out, errOut := verify(); code != 1 || !strings.Contains(errOut, "NOT intact: first bad record 3 of 5") {
		t.Fatalf("edited trail: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if err := os.Remove(filepath.Join(data, "keys", keys.PublicFile)); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := verify(); code != 1 || !strings.Contains(errOut, "could not be checked") {
		t.Fatalf("no public key: exit %d, stderr %s", code, errOut)
	}
}
