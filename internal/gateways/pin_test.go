package gateways

import (
	"context"
	"strings"
	"testing"
)

// pinSeeds are TestTokenPin's tokens, the fuzz seed.
var pinSeeds = []struct {
	token, pin string
	ok         bool
}{
	{"vge_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~" + testCertSHA, testCertSHA, true},
	{"vge_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", false},
	{"vge_AAAA~" + strings.ToUpper(testCertSHA), "", false},
	{"vge_AAAA~" + testCertSHA[:63], "", false},
	{"vge_AAAA~" + testCertSHA + "0", "", false},
	{"vge_AAAA~" + testCertSHA[:63] + "g", "", false},
	{"vge_~" + testCertSHA, testCertSHA, true},
	{"vgc_AAAA~" + testCertSHA, "", false},
	{"~" + testCertSHA, "", false},
	{"vge_AAAA~" + testCertSHA + "~", "", false},
	{"vge_" + strings.Repeat("A", 200) + "~" + testCertSHA, "", false},
	{"", "", false},
}

func TestTokenPin(t *testing.T) {
	for _, tc := range pinSeeds {
		pin, ok := TokenPin(tc.token)
		if pin != tc.pin || ok != tc.ok {
			t.Errorf("TokenPin(%q) = %q, %v; want %q, %v", tc.token, pin, ok, tc.pin, tc.ok)
		}
	}
}

// TestTokenPinned: with a hub certificate the token carries its pin (and
// still enrols); without one it carries none.
func TestTokenPinned(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.create(t, "gw-1", "north")
	if pin, ok := TokenPin(tok); !ok || pin != testCertSHA || len(tok) > maxSecretLen {
		t.Fatalf("token %q: pin %q %v", tok, pin, ok)
	}
	if en := e.enrollOK(t, tok); en.HubCertSHA256 != testCertSHA {
		t.Fatalf("enrolment %+v", en)
	}
	e.reg.cert = func() string { return "" }
	g, tok2, err := e.reg.Create(context.Background(), "gw-2", "north")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := TokenPin(tok2); ok || strings.Contains(tok2, pinSep) {
		t.Fatalf("token without a hub certificate %q", tok2)
	}
	e.reg.cert = func() string { return "not hex" }
	if _, _, err := e.reg.NewToken(context.Background(), g.ID); err == nil {
		t.Fatal("a malformed certificate hash made a token")
	}
}

// FuzzTokenPin: TokenPin never panics, and a pin it returns is 64
// lowercase hex digits that end the token.
func FuzzTokenPin(f *testing.F) {
	for _, tc := range pinSeeds {
		f.Add(tc.token)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pin, ok := TokenPin(token)
		if !ok {
			if pin != "" {
				t.Fatalf("pin %q without ok", pin)
			}
			return
		}
		if !isLowerHex(pin, 64) || !strings.HasSuffix(token, pinSep+pin) || !strings.HasPrefix(token, tokenPrefix) {
			t.Fatalf("TokenPin(%q) = %q", token, pin)
		}
	})
}
