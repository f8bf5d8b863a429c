package gateways

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Secret prefixes make leaked secrets recognisable (and scannable).
const (
	tokenPrefix = "vge_" // one-time enrolment token
	credPrefix  = "vgc_" // a gateway's long-lived credential
	// maxSecretLen bounds what is hashed: a credential is 47 bytes, a
	// pinned enrolment token 112 (47 + "~" + 64 hex digits).
	maxSecretLen = 160
	// pinSep separates an enrolment token's secret from its pin.
	pinSep = "~"
)

// TokenPin returns the hub certificate pin an enrolment token carries: when
// the hub serves TLS, a token is "vge_" + 43 random characters + "~" + the
// hex SHA-256 of the hub's certificate (DER, 64 lowercase hex digits). A
// gateway checks the hub's certificate against it BEFORE it sends the token.
// ok is false for a token without a (well-formed) pin.
func TokenPin(token string) (pin string, ok bool) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxSecretLen {
		return "", false
	}
	i := strings.LastIndex(token, pinSep)
	if i < len(tokenPrefix) {
		return "", false
	}
	pin = token[i+1:]
	if !isLowerHex(pin, 64) {
		return "", false
	}
	return pin, true
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newToken returns a new enrolment token (pinned to the hub certificate
// certSHA256 when it is not "") and its hash. The hash covers the whole
// token, pin included.
func newToken(certSHA256 string) (token, hash string, err error) {
	token, _, err = newSecret(tokenPrefix)
	if err != nil {
		return "", "", err
	}
	if certSHA256 != "" {
		if !isLowerHex(certSHA256, 64) {
			return "", "", fmt.Errorf("hub certificate pin %q is not 64 lowercase hex digits", certSHA256)
		}
		token += pinSep + certSHA256
	}
	return token, hashSecret(token), nil
}

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
