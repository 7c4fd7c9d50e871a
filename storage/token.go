package storage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a new random 256-bit value, base64url-encoded without
// padding (43 characters). It is used for session cookies, authorization
// codes, refresh tokens and client secrets (RFC 6749 §10.10 asks for a guess
// probability of at most 2^-128).
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewID returns a new random 128-bit identifier as 32 hex characters. IDs are
// not secrets; they name rows (users, sessions, requests, token families).
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// HashToken returns the hex SHA-256 of a high-entropy token. Only this value
// is stored; a plain hash is enough because the input has 256 bits of entropy
// (ASVS 6.5.2), and it lets lookups use an index.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
