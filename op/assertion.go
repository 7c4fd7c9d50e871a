package op

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// private_key_jwt client authentication (RFC 7523 §2.2 and §3, OIDC Core
// §9): the client signs a short-lived JWT with a key whose public half it
// registered (jwks) or publishes (jwks_uri).

// assertionAlgs is the algorithm allow-list of client assertions: never
// none or a symmetric HS* (RFC 8725 §3.1, §3.2).
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// Assertion limits.
const (
	// maxAssertionLifetime bounds how far in the future an assertion's
	// exp may lie (project choice, RFC 7523 §3 item 4 lets the server
	// limit it): a stolen assertion is useless after 5 minutes, and its
	// jti need be kept no longer.
	maxAssertionLifetime = 5 * time.Minute
	maxAssertionBytes    = 8 << 10
	// jwksMaxBytes bounds a fetched jwks_uri document; jwksCacheTTL is how
	// long one is kept; jwksRefetchAfter how soon an unknown kid may
	// trigger another fetch.
	jwksMaxBytes     = 64 << 10
	jwksCacheTTL     = 5 * time.Minute
	jwksRefetchAfter = 30 * time.Second
)

// assertionClaims are the claims RFC 7523 §3 requires.
type assertionClaims struct {
	Issuer   string        `json:"iss"`
	Subject  string        `json:"sub"`
	Audience oidc.Audience `json:"aud"`
	Expiry   *json.Number  `json:"exp"`
	IssuedAt *json.Number  `json:"iat"`
	NotBef   *json.Number  `json:"nbf"`
	JTI      string        `json:"jti"`
}

// authenticateAssertion checks a client_assertion (RFC 7523 §3) and
// returns its client: the client registered private_key_jwt, the
// signature verifies with one of its keys under an allowed algorithm,
// iss = sub = client_id (and = the client_id parameter when sent), aud
// names this issuer, its token endpoint or the endpoint called, exp has
// not passed and lies at most maxAssertionLifetime ahead, iat and nbf are
// not in the future, and the jti was never used by this client before
// (kept until exp). Every refusal is errClientAuthFailed.
func (p *Provider) authenticateAssertion(ctx context.Context, r *zop.Request[zop.ClientCredentials]) (*storage.Client, error) {
	cc := r.Data
	if !p.cfg.PrivateKeyJWT || cc.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion ||
		len(cc.ClientAssertion) > maxAssertionBytes || cc.ClientSecret != "" {
		return nil, errClientAuthFailed
	}
	jws, err := jose.ParseSigned(cc.ClientAssertion, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errClientAuthFailed
	}
	var unverified assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil || unverified.Issuer == "" {
		return nil, errClientAuthFailed
	}
	if cc.ClientID != "" && cc.ClientID != unverified.Issuer {
		return nil, errClientAuthFailed
	}
	cc.ClientID = unverified.Issuer // for throttling and the error path
	c, err := p.store.GetClient(ctx, unverified.Issuer)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errClientAuthFailed
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	if c.Disabled || c.AuthMethod != storage.AuthMethodPrivateKeyJWT {
		return nil, errClientAuthFailed
	}
	payload, err := p.verifyWithClientKeys(ctx, c, jws)
	if err != nil {
		if !errors.Is(err, errClientAuthFailed) {
			p.log.WarnContext(ctx, "client keys unavailable", "client_id", c.ID, "err", err)
		}
		return nil, errClientAuthFailed
	}
	var cl assertionClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, errClientAuthFailed
	}
	now := p.now()
	exp, ok := numericDate(cl.Expiry)
	switch {
	case cl.Issuer != c.ID || cl.Subject != c.ID, cl.JTI == "", len(cl.JTI) > 256:
		return nil, errClientAuthFailed
	case !p.assertionAudienceOK(cl.Audience, r.URL.Path):
		return nil, errClientAuthFailed
	case !ok || !now.Before(exp.Add(clockLeeway)) || exp.After(now.Add(maxAssertionLifetime+clockLeeway)):
		return nil, errClientAuthFailed
	}
	for _, n := range []*json.Number{cl.IssuedAt, cl.NotBef} {
		if t, ok := numericDate(n); n != nil && (!ok || t.After(now.Add(clockLeeway))) {
			return nil, errClientAuthFailed
		}
	}
	err = p.store.UseClientAssertion(ctx, c.ID, cl.JTI, exp.Add(clockLeeway), now)
	if errors.Is(err, storage.ErrAlreadyExists) {
		p.log.WarnContext(ctx, "client assertion replayed", "event", "client_assertion_replay", "client_id", c.ID)
		return nil, errClientAuthFailed
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	return c, nil
}

// numericDate reads a NumericDate claim (RFC 7519 §2).
func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// assertionAudienceOK: aud names the issuer or the token endpoint (RFC
// 7523 §3 item 3; OIDC Core §9 says the token endpoint), or the endpoint
// the assertion is presented at (RFC 9126 §2, RFC 7662, RFC 7009 reuse
// the token endpoint's client authentication).
func (p *Provider) assertionAudienceOK(aud []string, path string) bool {
	ok := []string{p.issuer, p.issuer + PathToken, p.issuer + path}
	for _, a := range aud {
		if slices.Contains(ok, a) {
			return true
		}
	}
	return false
}

// verifyWithClientKeys verifies jws with the client's registered keys:
// the inline jwks, or the jwks_uri document (cached; fetched again when
// the kid is unknown, at most every jwksRefetchAfter).
func (p *Provider) verifyWithClientKeys(ctx context.Context, c *storage.Client, jws *jose.JSONWebSignature) ([]byte, error) {
	kid := jws.Signatures[0].Header.KeyID
	alg := jws.Signatures[0].Header.Algorithm
	var set *jose.JSONWebKeySet
	var err error
	switch {
	case c.JWKS != "":
		set, err = parseJWKS([]byte(c.JWKS))
	case c.JWKSURI != "":
		set, err = p.jwks.get(ctx, c.JWKSURI, kid, false)
	default:
		return nil, errClientAuthFailed
	}
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWithSet(jws, set, kid, alg); ok {
		return payload, nil
	}
	if c.JWKSURI != "" { // maybe the client rotated its keys
		if set, err = p.jwks.get(ctx, c.JWKSURI, kid, true); err == nil {
			if payload, ok := verifyWithSet(jws, set, kid, alg); ok {
				return payload, nil
			}
		}
	}
	return nil, errClientAuthFailed
}

// verifyWithSet tries the set's signing keys that match kid (when the
// header names one) and the algorithm's key type.
func verifyWithSet(jws *jose.JSONWebSignature, set *jose.JSONWebKeySet, kid, alg string) ([]byte, bool) {
	for _, k := range set.Keys {
		if (kid != "" && k.KeyID != kid) || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != alg) || !k.IsPublic() {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// parseJWKS parses a JWK Set (RFC 7517 §5) of public keys.
func parseJWKS(b []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("op: parse client jwks: %w", err)
	}
	return &set, nil
}

// jwksCache fetches and caches clients' jwks_uri documents with the
// back-channel client's protections: timeouts, no redirects, no private
// addresses unless allowed (newBackchannelClient), and a size limit.
type jwksCache struct {
	client *http.Client
	now    func() time.Time
	mu     sync.Mutex
	byURI  map[string]jwksEntry
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// get returns the key set of uri: cached while fresh, unless refresh
// asks for a new copy and the cached one is older than jwksRefetchAfter.
func (j *jwksCache) get(ctx context.Context, uri, kid string, refresh bool) (*jose.JSONWebKeySet, error) {
	now := j.now()
	j.mu.Lock()
	e, ok := j.byURI[uri]
	j.mu.Unlock()
	if ok && now.Sub(e.fetched) < jwksCacheTTL && (!refresh || now.Sub(e.fetched) < jwksRefetchAfter) {
		return e.set, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("op: jwks_uri: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("op: fetch jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("op: fetch jwks_uri: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil || len(body) > jwksMaxBytes {
		return nil, fmt.Errorf("op: fetch jwks_uri: body too large or unreadable: %v", err)
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	if j.byURI == nil {
		j.byURI = make(map[string]jwksEntry)
	}
	if len(j.byURI) > 1000 { // bounded: drop everything rather than grow
		clear(j.byURI)
	}
	j.byURI[uri] = jwksEntry{set: set, fetched: now}
	j.mu.Unlock()
	return set, nil
}
