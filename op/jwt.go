package op

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/op/keys"
)

// JWS `typ` header values.
const (
	typIDToken     = "JWT"
	typAccessToken = "at+jwt" // RFC 9068 §2.1
)

// idTokenClaims are the claims of an ID token (OIDC Core §2) plus the
// profile and email claims released by scope (§5.4).
type idTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	ACR      string   `json:"acr,omitempty"` // OIDC Core §2; package storage/acr
	AMR      []string `json:"amr,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	AtHash   string   `json:"at_hash,omitempty"`
	SID      string   `json:"sid,omitempty"`
	userClaims
}

// accessTokenClaims are the claims of a JWT access token (RFC 9068 §2.2).
type accessTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	SID      string   `json:"sid,omitempty"`
	// FamilyID names the refresh-token family (the grant) the token was
	// issued with, a private claim (RFC 7519 §4.3): revoking the family
	// revokes its access tokens (RFC 7009 §2.1).
	FamilyID string `json:"fid,omitempty"`
	// GrantType is set to "client_credentials" on tokens a client got for
	// itself (RFC 6749 §4.4), a private claim (RFC 7519 §4.3): their
	// subject is the client, not a user (see activeAccessToken).
	GrantType string `json:"gty,omitempty"`
	// Cnf binds the token to the key of a DPoP proof (RFC 9449 §6.1):
	// presented without a proof by that key it is refused (UserInfo).
	Cnf *confirmation `json:"cnf,omitempty"`
	// Act names the party acting for the subject in a token obtained by
	// token exchange (RFC 8693 §4.1; tokenexchange.go).
	Act *actClaim `json:"act,omitempty"`
	// UserinfoClaims are the claims the authorization request asked
	// UserInfo for one by one with the claims parameter (OIDC Core §5.5,
	// claimsparam.go), a private claim (RFC 7519 §4.3).
	UserinfoClaims []string `json:"userinfo_claims,omitempty"`
}

// atHash computes at_hash (OIDC Core §3.1.3.6) with the hash of alg.
func atHash(accessToken string, alg jose.SignatureAlgorithm) (string, error) {
	return oidc.ClaimHash(accessToken, alg)
}

// parseAccessToken verifies a JWT access token we issued and checks iss,
// exp and iat at now (with leeway).
// A token verified before with the same key set comes from p.verified
// without a second signature check; exp and iat are checked every time.
func (p *Provider) parseAccessToken(token string, now time.Time) (*accessTokenClaims, error) {
	return p.parseAccessTokenKey(token, keyOf(token), p.keys.Version(), now)
}

// parseAccessTokenKey is parseAccessToken with the token's cache key and
// the key set version already computed.
func (p *Provider) parseAccessTokenKey(token string, key tokenKey, version string, now time.Time) (*accessTokenClaims, error) {
	c, cached := p.verified.get(key, version, now)
	if !cached {
		payload, err := p.keys.Verify(token, typAccessToken)
		if err != nil {
			return nil, err
		}
		c = &accessTokenClaims{}
		if err := json.Unmarshal(payload, c); err != nil {
			return nil, errInvalidJWT
		}
		if c.Issuer != p.issuer || c.Subject == "" || c.JTI == "" {
			return nil, errInvalidJWT
		}
	}
	if now.Unix() >= c.Expiry+int64(clockLeeway.Seconds()) || c.IssuedAt > now.Unix()+int64(clockLeeway.Seconds()) {
		return nil, fmt.Errorf("%w: expired", errInvalidJWT)
	}
	if !cached {
		p.verified.put(key, version, c, now)
	}
	return c, nil
}

// idTokenHint is what we take from a verified id_token_hint.
type idTokenHint struct {
	Subject  string   `json:"sub"`
	Issuer   string   `json:"iss"`
	Audience []string `json:"aud"`
	SID      string   `json:"sid"`
}

// UnmarshalJSON accepts `aud` as a string or an array (RFC 7519 §4.1.3).
func (h *idTokenHint) UnmarshalJSON(b []byte) error {
	var raw struct {
		Subject  string          `json:"sub"`
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
		SID      string          `json:"sid"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	h.Subject, h.Issuer, h.SID = raw.Subject, raw.Issuer, raw.SID
	var one string
	if json.Unmarshal(raw.Audience, &one) == nil {
		h.Audience = []string{one}
		return nil
	}
	return json.Unmarshal(raw.Audience, &h.Audience)
}

// parseIDTokenHint verifies an ID token we issued. Expired hints are
// accepted, as OIDC Core §3.1.2.1 and RP-Initiated Logout §2 allow.
func (p *Provider) parseIDTokenHint(token string) (*idTokenHint, error) {
	payload, err := p.keys.Verify(token, typIDToken)
	if err != nil {
		return nil, err
	}
	var h idTokenHint
	if err := json.Unmarshal(payload, &h); err != nil || h.Issuer != p.issuer || h.Subject == "" {
		return nil, errInvalidJWT
	}
	return &h, nil
}

// errInvalidJWT is keys.ErrInvalidJWT: every JWT the provider does not
// accept; its details never reach a client.
var errInvalidJWT = keys.ErrInvalidJWT
