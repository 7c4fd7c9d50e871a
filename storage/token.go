package storage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"
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

// NewOrderedID returns a new 128-bit identifier as 32 hex characters whose
// first 12 are the current Unix time in milliseconds (48 bits, big-endian)
// and the other 20 random (80 bits): the layout of a UUIDv7 (RFC 9562
// §5.7) without its version and variant bits. It names rows written on hot
// paths (refresh tokens, their families, sessions, audit events): B-tree
// indexes on random keys put every insertion on a random leaf page, which
// at millions of rows is seldom cached and, dirtied once per checkpoint,
// costs a full-page image in the WAL; keys ordered by time append to the
// right edge, whose few pages stay hot. The time is the wall clock (only
// index locality depends on it, never correctness). Not for values that
// must not reveal when they were made (a user's ID is its sub claim).
func NewOrderedID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// orderedTokenFormat is the first byte of a NewOrderedToken value.
const orderedTokenFormat = 1

// NewOrderedToken returns a new refresh token: 33 bytes, base64url-encoded
// without padding (44 characters, where a NewToken value has 43): a format
// byte, the current Unix time in milliseconds (6 bytes, big-endian) and 26
// random bytes (208 bits; RFC 6749 §10.10 asks for 128). Its TokenKey
// begins with that time, so the index the store looks refresh tokens up by
// grows at its right edge (see NewOrderedID). The time is no secret: the
// holder of a refresh token knows when it got it.
func NewOrderedToken() string {
	var b [33]byte
	b[0] = orderedTokenFormat
	binary.BigEndian.PutUint64(b[1:9], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[7:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// TokenKey returns what a refresh token is stored and looked up by: for a
// NewOrderedToken value, its time as 12 hex characters followed by
// HashToken(token) (76 characters); for any other string, HashToken(token),
// which is what tokens issued before ordered ones are stored by, and what
// anything else misses by. Either way the key is a function of the whole
// token, so a lookup by key is a lookup by token.
func TokenKey(token string) string {
	if len(token) != 44 || token[0] != 'A' { // 'A': the top six bits of the format byte are 0
		return HashToken(token)
	}
	var b [33]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(token)); err != nil || n != 33 || b[0] != orderedTokenFormat {
		return HashToken(token)
	}
	return hex.EncodeToString(b[1:7]) + HashToken(token)
}

// HashToken returns the hex SHA-256 of a high-entropy token. Only this value
// is stored; a plain hash is enough because the input has 256 bits of entropy
// (ASVS 6.5.2), and it lets lookups use an index.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
