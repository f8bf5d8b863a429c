package api

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// linkFuzzKey signs the fuzz corpus's valid tokens.
const linkFuzzKey = "fuzz-key-0123456789abcdef-012345"

// FuzzLinkVerify feeds arbitrary tokens, sessions, cameras and kinds to the
// media link check: it never panics, and it accepts a token only when it is
// exactly the one the hub would sign for that session, camera and kind,
// unexpired.
func FuzzLinkVerify(f *testing.F) {
	s := &linkSigner{key: []byte(linkFuzzKey)}
	now := time.Unix(1750000000, 0)
	for _, c := range linkFuzzSeeds(s, now) {
		f.Add(c[0], c[1], c[2], c[3])
	}
	f.Fuzz(func(t *testing.T, tok, session, camera, kind string) {
		if s.verify(tok, session, camera, kind, now) != nil {
			return
		}
		p64, _, _ := strings.Cut(tok, ".")
		payload, err := decodeLinkPart(p64)
		if err != nil {
			t.Fatalf("accepted a token whose payload does not decode: %q", tok)
		}
		parts := strings.Split(payload, ".")
		exp, _ := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if !now.Before(time.Unix(exp, 0)) {
			t.Fatalf("accepted an expired token: %q", tok)
		}
		if want := s.sign(session, camera, kind, time.Unix(exp, 0)); want != tok {
			t.Fatalf("accepted %q, the hub signs %q", tok, want)
		}
	})
}

func decodeLinkPart(s string) (string, error) {
	b, err := base64RawURLStrict.DecodeString(s)
	return string(b), err
}

// linkFuzzSeeds are valid tokens and near misses (also the committed
// corpus under testdata/fuzz/FuzzLinkVerify).
func linkFuzzSeeds(s *linkSigner, now time.Time) [][4]string {
	good := s.sign("ses-1", "gate-1", linkLive, now.Add(time.Minute))
	old := s.sign("ses-1", "gate-1", linkLive, now.Add(-time.Minute))
	p, m, _ := strings.Cut(good, ".")
	return [][4]string{
		{good, "ses-1", "gate-1", linkLive},
		{good, "ses-2", "gate-1", linkLive},
		{good, "ses-1", "gate-2", linkLive},
		{good, "ses-1", "gate-1", linkExport},
		{old, "ses-1", "gate-1", linkLive},
		{p, "ses-1", "gate-1", linkLive},
		{p + "." + m + "=", "ses-1", "gate-1", linkLive},
		{"." + m, "ses-1", "gate-1", linkLive},
		{"", "", "", ""},
		{"' OR 1=1--", "ses-1", "gate-1", linkLive},
	}
}

// TestWriteLinkFuzzCorpus regenerates testdata/fuzz/FuzzLinkVerify from
// linkFuzzSeeds.
func TestWriteLinkFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") != "1" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	s := &linkSigner{key: []byte(linkFuzzKey)}
	var seeds [][]any
	for _, c := range linkFuzzSeeds(s, time.Unix(1750000000, 0)) {
		seeds = append(seeds, []any{c[0], c[1], c[2], c[3]})
	}
	writeCorpus(t, "FuzzLinkVerify", seeds)
}
