package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := HashPassword(fastHash, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	h2, _ := HashPassword(fastHash, "correct horse")
	if h == h2 {
		t.Fatal("salt not random")
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash, pw string
		want, wantErr  bool
	}{
		{"argon ok", h, "correct horse", true, false},
		{"argon wrong", h, "correct horsE", false, false},
		{"argon empty", h, "", false, false},
		{"bcrypt ok", string(bc), "correct horse", true, false},
		{"bcrypt wrong", string(bc), "nope", false, false},
		{"bcrypt garbage", "$2a$zz", "x", false, true},
		{"empty hash", "", "x", false, true},
		{"wrong alg", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", false, true},
		{"huge memory", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", false, true},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", false, true},
		{"bad b64", "$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA", "x", false, true},
		{"bad version", "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := VerifyPassword(tt.hash, tt.pw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultArgonParams(t *testing.T) {
	t.Parallel()
	p := Argon2Params{}.withDefaults()
	if p.Memory != 19456 || p.Time != 2 || p.Threads != 1 {
		t.Fatalf("defaults = %+v", p)
	}
}
