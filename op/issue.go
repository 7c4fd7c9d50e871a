package op

import (
	"context"
	"errors"
	"slices"

	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// grant is what a token response is issued for.
type grant struct {
	userID, sessionID string
	scopes            []string
	authTime          time.Time
	amr               []string
	nonce             string // only from the authorization request (OIDC Core §12.2)
	// claims are the claims the authorization request asked for one by
	// one (OIDC Core §5.5), kept with the refresh tokens.
	claims storage.RequestedClaims
	// familyID is the family of the grant: for a refresh, the rotated
	// token's; for a code exchange, the one RedeemAuthCode started, which
	// names what a replay of the code revokes (RFC 6749 §4.1.2).
	familyID string
	// offline is set when the grant's original scopes include
	// offline_access: its tokens outlive the browser session.
	offline bool
	// user, when not nil, is the grant's user as read with the grant, so
	// issueTokens need not read it again; nil: issueTokens reads it. A
	// user who is gone is refused either way.
	user *storage.User
	// jkt is the thumbprint of the DPoP key the access token is bound to
	// (dpopBinding); "" for a bearer token. For a public client the
	// refresh family of a code exchange is bound to it too (RFC 9449 §5).
	jkt string
	// first, when not nil, is the family's first refresh token, which the
	// code exchange already stored (RedeemAuthCode); nil: issueTokens makes
	// and stores one if the client has the refresh grant.
	first *newToken
}

// refreshResult carries the rotated refresh token into the response.
type refreshResult struct{ token string }

// issueTokens mints the access token, a refresh token (first of the code
// exchange's family unless one was just rotated) and, for openid requests,
// the ID token, on refresh unless the client registered OmitRefreshIDToken.
//
// The access token names what can take it away again: `fid`, its refresh
// family, and `sid`, its browser session, except for offline_access
// families, which survive the session (see activeAccessToken). `fid` is
// set only when the family has refresh tokens, since a family without
// members counts as revoked. So that a replayed code can revoke the access
// token of a client without the refresh grant too, the first access token
// of a code exchange has the family ID as its jti (see revokeCodeFamily).
func (p *Provider) issueTokens(ctx context.Context, c *storage.Client, g grant, refreshed *refreshResult) (*zop.Response, error) {
	now := p.now()
	u, err := g.user, error(nil)
	if u == nil {
		u, err = p.store.GetUser(ctx, g.userID)
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the user can no longer sign in")
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	atTTL := p.cfg.AccessTokenTTL
	if c.AccessTokenTTL > 0 {
		atTTL = c.AccessTokenTTL
	}
	first, stored := g.first, g.first != nil // the first token of the code exchange's family
	fid, jti := g.familyID, storage.NewID()
	if refreshed == nil { // a code exchange, which started g.familyID
		if g.familyID == "" {
			g.familyID = storage.NewOrderedID()
		}
		fid, jti = "", g.familyID
		if first == nil && c.HasGrant(string(oidc.GrantTypeRefreshToken)) {
			rt := p.newRefreshToken(g.familyID, c, now)
			first = &rt
		}
		if first != nil {
			fid = g.familyID
		}
	}
	at := accessTokenClaims{
		Issuer: p.issuer, Subject: u.ID, Audience: []string{c.ID},
		Expiry: now.Add(atTTL).Unix(), IssuedAt: now.Unix(), JTI: jti,
		ClientID: c.ID, Scope: scopeString(g.scopes), AuthTime: g.authTime.Unix(),
		SID: g.sessionID, FamilyID: fid, Cnf: confirmationOf(g.jkt),
		UserinfoClaims: allowedIndividually(c, g.claims.UserInfo),
	}
	if g.offline && fid != "" {
		at.SID = ""
	}
	accessToken, err := p.keys.Sign(p.cfg.AccessTokenAlg, typAccessToken, at)
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	resp := &oidc.AccessTokenResponse{
		AccessToken: accessToken, TokenType: tokenType(g.jkt),
		ExpiresIn: uint64(atTTL.Seconds()), Scope: g.scopes,
	}
	switch {
	case refreshed != nil:
		resp.RefreshToken = refreshed.token
	case first != nil && stored:
		resp.RefreshToken = first.token
	case first != nil:
		rec := first.record
		rec.UserID, rec.SessionID, rec.Scopes, rec.AuthTime, rec.AMR = u.ID, g.sessionID, g.scopes, g.authTime.UTC(), g.amr
		rec.Claims = g.claims
		if c.Public() {
			// RFC 9449 §5: a public client's refresh tokens are bound
			// to the key too; a confidential client's are bound to its
			// credentials, and it may change keys.
			rec.DPoPJKT = g.jkt
		}
		if err := p.store.CreateRefreshToken(ctx, rec); err != nil {
			return nil, p.serverError(ctx, err)
		}
		resp.RefreshToken = first.token
	}
	// OIDC Core §12.2: on refresh the ID token is optional; a client that
	// registered OmitRefreshIDToken does without it (and its signature).
	if slices.Contains(g.scopes, scopeOpenID) && (refreshed == nil || !c.OmitRefreshIDToken) {
		if resp.IDToken, err = p.idToken(c, u, g, accessToken); err != nil {
			return nil, p.serverError(ctx, err)
		}
	}
	if refreshed != nil {
		eventsOr(p.cfg.Events).TokenIssued(string(oidc.GrantTypeRefreshToken))
	} else {
		eventsOr(p.cfg.Events).TokenIssued(string(oidc.GrantTypeCode))
	}
	return zop.NewResponse(resp), nil
}

// idToken mints the ID token (OIDC Core §2, §3.1.3.6) with the client's
// registered algorithm (id_token_signed_response_alg), RS256 by default.
func (p *Provider) idToken(c *storage.Client, u *storage.User, g grant, accessToken string) (string, error) {
	now := p.now()
	alg := defaultIDTokAlg
	if c.IDTokenSigningAlg != "" {
		alg = jose.SignatureAlgorithm(c.IDTokenSigningAlg)
	}
	ttl := p.cfg.IDTokenTTL
	if c.IDTokenTTL > 0 {
		ttl = c.IDTokenTTL
	}
	hash, err := atHash(accessToken, alg)
	if err != nil {
		return "", err
	}
	claims := idTokenClaims{
		Issuer: p.issuer, Subject: u.ID, Audience: []string{c.ID},
		Expiry: now.Add(ttl).Unix(), IssuedAt: now.Unix(), AuthTime: g.authTime.Unix(),
		Nonce: g.nonce, ACR: acr.Of(g.amr), AMR: g.amr, AZP: c.ID, AtHash: hash, SID: g.sessionID,
		userClaims: claimsWith(u, g.scopes, allowedIndividually(c, g.claims.IDToken)),
	}
	withMapped, err := withClaims(claims, mappedClaims(c, u, g.scopes))
	if err != nil {
		return "", err
	}
	return p.keys.Sign(alg, typIDToken, withMapped)
}
