package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "secrets.key")
	b1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
	if st, _ := os.Stat(path); st.Size() != KeySize {
		t.Errorf("key file has %d bytes", st.Size())
	}
	sealed, err := b1.Seal([]byte("user:pa55"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := LoadOrCreate(path) // second start reuses the key
	if err != nil {
		t.Fatal(err)
	}
	got, err := b2.Open(sealed)
	if err != nil || string(got) != "user:pa55" {
		t.Fatalf("reopen: %q, %v", got, err)
	}
}

func TestLoadOrCreateRejectsBadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a 5-byte key file was accepted")
	}
	if b, _ := os.ReadFile(path); string(b) != "short" {
		t.Fatal("a bad key file was replaced")
	}
}

func TestSealOpen(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	b1, _ := New(k1)
	b2, _ := New(k2)
	s1, _ := b1.Seal([]byte("admin:secret"))
	s2, _ := b1.Seal([]byte("admin:secret"))
	if s1 == s2 {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	if !strings.HasPrefix(s1, "v1:") || strings.Contains(s1, "secret") {
		t.Errorf("sealed form %q", s1)
	}
	flipped := []byte(s1)
	flipped[len(flipped)-3] ^= 1
	if flipped[len(flipped)-3] == '-'^1 || flipped[len(flipped)-3] == '_'^1 {
		flipped[len(flipped)-3] = 'A'
	}
	cases := []struct {
		name    string
		box     *Box
		in      string
		wantErr error
		ok      bool
	}{
		{"right key", b1, s1, nil, true},
		{"wrong key", b2, s1, ErrOpen, false},
		{"altered", b1, string(flipped), nil, false},
		{"no prefix", b1, strings.TrimPrefix(s1, "v1:"), nil, false},
		{"not base64", b1, "v1:!!!", nil, false},
		{"too short", b1, "v1:AAAA", nil, false},
		{"empty", b1, "", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.box.Open(c.in)
			if c.ok {
				if err != nil || string(got) != "admin:secret" {
					t.Fatalf("open: %q, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatal("opened")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "secret") && !strings.Contains(err.Error(), "secrets key") {
				t.Fatalf("error leaks the value: %v", err)
			}
		})
	}
}

func TestNewRejectsKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("%d-byte key accepted", n)
		}
	}
}

func FuzzOpen(f *testing.F) {
	b, _ := New(bytes.Repeat([]byte{7}, KeySize))
	s, _ := b.Seal([]byte("u:p"))
	for _, seed := range []string{s, "v1:", "v1:AAAA", "", "v2:abc", s[:len(s)-1]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pt, err := b.Open(in)
		if err == nil {
			again, err := b.Seal(pt)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := b.Open(again); err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
