package op

import (
	"context"
	"errors"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// grantClientCredentials is the `gty` claim of access tokens a client got
// for itself with the client_credentials grant (RFC 6749 §4.4).
const grantClientCredentials = string(oidc.GrantTypeClientCredentials)

// userOnlyScopes are scopes about a user; a client acting for itself
// cannot be granted them (there is no user, no ID token, no refresh
// token: RFC 6749 §4.4.3).
var userOnlyScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopeOfflineAccess}

// ClientCredentialsExchange is the client credentials grant (RFC 6749
// §4.4). VerifyClient has authenticated the client and the router has
// checked that it registered the grant (unauthorized_client otherwise);
// public clients are refused here too (§4.4: confidential clients only).
//
// The answer is an access token only (§4.4.3: no refresh token; no ID
// token, there is no user): a JWT (RFC 9068, typ at+jwt) whose subject is
// the client, with no `sid` or `fid`, marked `gty=client_credentials` so
// that introspection checks the client, not a user (see
// activeAccessToken). The scope is what was requested, each scope one the
// client registered (§3.3); an unknown scope, or a user scope such as
// openid, is invalid_scope. Without a scope parameter the token has no
// scope (§3.3 lets the server pick the default; the least is chosen).
func (s *tokenServer) ClientCredentialsExchange(ctx context.Context, r *zop.ClientRequest[oidc.ClientCredentialsRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	if c.Public() || !c.HasGrant(grantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the client_credentials grant")
	}
	scopes, err := clientCredentialsScopes(c, r.Data.Scope)
	if err != nil {
		return nil, err
	}
	jkt, err := p.dpopBinding(ctx, c)
	if err != nil {
		return nil, err
	}
	now := p.now()
	ttl := p.cfg.AccessTokenTTL
	if c.AccessTokenTTL > 0 {
		ttl = c.AccessTokenTTL
	}
	if slices.ContainsFunc(scopes, clientpolicy.IsAdminScope) {
		// Admin API tokens (issue 20) are short-lived whatever the
		// client's lifetime says.
		ttl = min(ttl, clientpolicy.AdminTokenTTL)
	}
	at := accessTokenClaims{
		Issuer: p.issuer, Subject: c.ID, Audience: []string{c.ID},
		Expiry: now.Add(ttl).Unix(), IssuedAt: now.Unix(), JTI: storage.NewID(),
		ClientID: c.ID, Scope: scopeString(scopes), GrantType: grantClientCredentials, Cnf: confirmationOf(jkt),
	}
	token, err := p.keys.Sign(p.cfg.AccessTokenAlg, typAccessToken, at)
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	eventsOr(p.cfg.Events).TokenIssued(grantClientCredentials)
	return zop.NewResponse(&oidc.AccessTokenResponse{
		AccessToken: token, TokenType: tokenType(jkt),
		ExpiresIn: uint64(ttl.Seconds()), Scope: scopes,
	}), nil
}

// clientCredentialsScopes checks the requested scopes (RFC 6749 §3.3,
// §5.2 invalid_scope) against what c registered, without user scopes.
func clientCredentialsScopes(c *storage.Client, requested []string) ([]string, error) {
	out := make([]string, 0, len(requested))
	for _, sc := range requested {
		switch {
		case slices.Contains(userOnlyScopes, sc):
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q needs a user; the client_credentials grant has none", sc)
		case !slices.Contains(c.Scopes, sc):
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		case clientpolicy.IsAdminScope(sc) && (!slices.Contains(clientpolicy.AdminScopes, sc) || !clientpolicy.IsServiceAccount(c)):
			// Registered before the rule, or changed around it: admin
			// scopes go only to service accounts (clientpolicy).
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is only for service accounts", sc)
		case !slices.Contains(out, sc):
			out = append(out, sc)
		}
	}
	return out, nil
}

// activeClientToken is activeAccessToken for a client_credentials token:
// not on the deny list, its subject its own client, and that client still
// registered, not disabled and still allowed the grant.
func (p *Provider) activeClientToken(ctx context.Context, at *accessTokenClaims) (*storage.Client, error) {
	if at.Subject != at.ClientID || at.SID != "" || at.FamilyID != "" {
		return nil, errTokenInactive
	}
	st, err := p.store.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{JTI: at.JTI})
	if err != nil {
		return nil, err
	}
	if st.Revoked {
		return nil, errTokenInactive
	}
	c, err := p.store.GetClient(ctx, at.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errTokenInactive
	case err != nil:
		return nil, err
	case c.Disabled, c.Public(), !c.HasGrant(grantClientCredentials):
		return nil, errTokenInactive
	}
	return c, nil
}
