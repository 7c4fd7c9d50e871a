package op

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Verified-token cache limits.
const (
	// verifiedTokenTTL caps how long a verification is remembered.
	verifiedTokenTTL = 5 * time.Minute
	// verifiedTokenMax bounds the entries (two generations of half each:
	// a few MiB at most).
	verifiedTokenMax = 10_000
)

// verifiedTokens remembers access tokens whose signature and claims were
// checked, so a resource server that introspects the same token again,
// or calls userinfo with it, does not pay for another ECDSA verification
// (about 60 % of an introspection's CPU). Only the exact token bytes hit
// (keyed by their SHA-256). Expiry is still checked on every use, an
// entry is forgotten after verifiedTokenTTL, and the whole cache is
// dropped when the key set changes, so a key that is removed stops
// vouching for tokens at once.
//
// Each entry may also hold the token's last live status, tagged with the
// user's liveness version it was read at; activeAccessToken uses it only
// while the user's version is unchanged and the jti is not denied
// (storage.AccessTokens.LivenessVersion), so a revocation committed
// anywhere is seen by the next request.
//
// Memory is bounded with two generations: new entries go to cur; when cur
// is full it becomes old and the previous old is dropped.
type verifiedTokens struct {
	mu       sync.Mutex
	version  string // the key set the entries were verified with
	cur, old map[tokenKey]verifiedToken
}

// tokenKey identifies a token in the cache: the SHA-256 of its bytes.
type tokenKey [sha256.Size]byte

// keyOf returns token's cache key.
func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

type verifiedToken struct {
	claims accessTokenClaims
	until  time.Time
	// status is the last live status read for the token (with the
	// user's liveness version it was read at); nil: none yet.
	status *storage.AccessTokenStatus
}

// get returns the claims of the token with key if it was verified with the key set
// version and the entry has not run out at now.
func (c *verifiedTokens) get(key tokenKey, version string, now time.Time) (*accessTokenClaims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(key, version)
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	claims := e.claims
	return &claims, true
}

// lookup finds the entry of the token with key under the key set version. The caller holds
// c.mu.
func (c *verifiedTokens) lookup(key tokenKey, version string) (verifiedToken, bool) {
	if c.version != version {
		return verifiedToken{}, false
	}
	if e, ok := c.cur[key]; ok {
		return e, true
	}
	e, ok := c.old[key]
	return e, ok
}

// put remembers that the token with key verified with the key set version, with its
// claims, until min(now+verifiedTokenTTL, expiry).
func (c *verifiedTokens) put(key tokenKey, version string, claims *accessTokenClaims, now time.Time) {
	until := now.Add(verifiedTokenTTL)
	if exp := time.Unix(claims.Expiry, 0); exp.Before(until) {
		until = exp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		c.version, c.cur, c.old = version, nil, nil
	}
	if c.cur == nil || len(c.cur) >= verifiedTokenMax/2 {
		c.old, c.cur = c.cur, make(map[tokenKey]verifiedToken, 64)
	}
	c.cur[key] = verifiedToken{claims: *claims, until: until}
}

// status returns the live status last remembered for the token with key under the key
// set version. The caller must not change it.
func (c *verifiedTokens) status(key tokenKey, version string) (*storage.AccessTokenStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(key, version)
	return e.status, ok && e.status != nil
}

// setStatus remembers st as the live status of the token with key, if it is
// still remembered under the key set version. st must not change later.
func (c *verifiedTokens) setStatus(key tokenKey, version string, st *storage.AccessTokenStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return
	}
	if e, ok := c.cur[key]; ok {
		e.status = st
		c.cur[key] = e
	} else if e, ok := c.old[key]; ok {
		e.status = st
		c.old[key] = e
	}
}
