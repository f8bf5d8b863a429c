package gateways

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Secret prefixes make leaked secrets recognisable (and scannable).
const (
	tokenPrefix = "vge_" // one-time enrolment token
	credPrefix  = "vgc_" // a gateway's long-lived credential
	// maxSecretLen bounds what is hashed: real secrets are 47 bytes.
	maxSecretLen = 128
)

// newSecret returns prefix + 32 random bytes (base64url) and its hash.
func newSecret(prefix string) (secret, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random secret: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, hashSecret(secret), nil
}

// hashSecret is the stored form of a secret: hex SHA-256. The secrets hold
// 256 random bits, so a fast hash is enough.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// IsCredential reports whether s looks like a gateway credential (its
// prefix), so a caller can route it to AuthenticateGateway instead of the
// user login path (and past any cache of user logins).
func IsCredential(s string) bool {
	return len(s) > len(credPrefix) && s[:len(credPrefix)] == credPrefix
}
