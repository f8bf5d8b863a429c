package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params tunes argon2id password hashing. The parameters are stored in
// every hash, so changing them affects new hashes only.
type Argon2Params struct {
	// Memory in KiB. It defaults to 19456 (19 MiB, OWASP's minimum).
	Memory uint32
	// Time is the number of passes. It defaults to 2.
	Time uint32
	// Threads is the parallelism. It defaults to 1.
	Threads uint8
}

// Password limits.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024

	saltLen = 16
	keyLen  = 32

	// Bounds on parameters read back from a stored hash, so a tampered row
	// cannot make a login burn unbounded memory or time.
	maxArgonMemory = 1 << 20 // KiB (1 GiB)
	maxArgonTime   = 64
)

func (p Argon2Params) withDefaults() Argon2Params {
	if p.Memory == 0 {
		p.Memory = 19 * 1024
	}
	if p.Time == 0 {
		p.Time = 2
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	return p
}

// HashPassword hashes password with argon2id and a random salt, in the
// PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
func HashPassword(params Argon2Params, password string) (string, error) {
	p := params.withDefaults()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash: a stored hash is malformed.
var errBadHash = errors.New("malformed password hash")

// VerifyPassword reports whether password matches the stored hash (argon2id
// from HashPassword, or bcrypt). The comparison is constant-time.
func VerifyPassword(encoded, password string) (bool, error) {
	if strings.HasPrefix(encoded, "$2") {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("verify password: %w", errBadHash)
		}
		return true, nil
	}
	p, salt, want, err := parseArgon2(encoded)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseArgon2(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.Memory == 0 || p.Memory > maxArgonMemory || p.Time == 0 || p.Time > maxArgonTime || p.Threads == 0 {
		return p, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

func checkPassword(password string) error {
	if len(password) < MinPasswordLen {
		return inputErr("password", fmt.Sprintf("must be at least %d characters", MinPasswordLen))
	}
	if len(password) > MaxPasswordLen {
		return inputErr("password", fmt.Sprintf("must be at most %d characters", MaxPasswordLen))
	}
	return nil
}
