package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzSplitToken(f *testing.F) {
	for _, s := range []string{"vge_abc", "vge_abc~" + strings.Repeat("0f", 32), "vge_abc~zz", "~", "vge_~" + strings.Repeat("A", 64), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pin, err := splitToken(token)
		if err != nil {
			if !strings.Contains(token, "~") {
				t.Fatalf("token without ~ refused: %v", err)
			}
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error echoes the token: %v", err)
			}
			return
		}
		if pin == "" {
			if strings.Contains(token, "~") {
				t.Fatalf("token with ~ accepted without a pin: %q", token)
			}
			return
		}
		if _, nerr := normalizePin(pin); nerr != nil || !strings.HasSuffix(token, "~"+pin) || pin != strings.ToLower(pin) {
			t.Fatalf("pin %q from %q", pin, token)
		}
	})
}

func FuzzLoadIdentity(f *testing.F) {
	f.Add([]byte(`{"hub":"https://h:1","gateway":"gw1","site":"s","credential":"vgc_x","hub_cert_sha256":"` + strings.Repeat("ab", 32) + `"}`))
	f.Add([]byte(`{"hub":"https://h:1"}`))
	f.Add([]byte(`not json`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, IdentityFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		id, err := LoadIdentity(dir)
		if err == nil && (id.Hub == "" || id.Gateway == "" || id.Credential == "") {
			t.Fatalf("incomplete identity accepted: %+v", id)
		}
	})
}
