package op

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// GrantTokenExchange is the token exchange grant type (RFC 8693 §2.1).
const GrantTokenExchange = string(oidc.GrantTypeTokenExchange)

// actClaim is the `act` (actor) claim of RFC 8693 §4.1: who acts for the
// token's subject. A nested Act names the prior actor of a token that was
// itself the result of a delegation, outermost being the current one.
type actClaim struct {
	Subject string    `json:"sub"`
	Act     *actClaim `json:"act,omitempty"`
}

// TokenExchange is the token exchange grant (RFC 8693 §2). VerifyClient
// has authenticated the client and the router has checked that it
// registered the grant (unauthorized_client otherwise). The rules:
//
//   - only confidential clients exchange (§2.1 lets the server require
//     client authentication; public clients cannot keep the result to
//     themselves);
//   - the subject_token is an access token this provider issued to a user
//     (subject_token_type urn:ietf:params:oauth:token-type:access_token),
//     live by activeAccessToken; anything else is invalid_request (§2.2.2:
//     "either the subject_token or actor_token are invalid");
//   - the targets (audience and resource, §2.1) must each be in the
//     client's TokenExchangeAudiences, else invalid_target (§2.2.2), and
//     at least one is required;
//   - scopes never widen: the requested scope is a subset of the subject
//     token's, which is the default (§2.1, RFC 6749 §3.3), else
//     invalid_scope;
//   - only access tokens are issued (requested_token_type access_token or
//     absent), never longer-lived than the subject token, without a
//     refresh or ID token.
//
// Delegation, not impersonation (§1.1, §4.1): monban always names the
// acting party in the `act` claim. The actor is the subject of a given
// actor_token, which must be a live access token issued to the client
// that exchanges (a client cannot name another party as actor); without
// an actor_token it is the authenticated client itself (act.sub =
// client_id, as the subject of its client_credentials tokens). The
// subject token's own `act`, if any, becomes the nested prior actor.
//
// The new token keeps the subject token's `sid` and `fid`: logging out,
// revoking the grant or disabling the user takes the exchanged token away
// with the original (activeAccessToken).
//
// DPoP (RFC 9449). A token exchange request is a token request like the
// others: with a valid proof at /token (dpopTokenEndpoint) the issued
// token is bound to the proof's key (cnf.jkt, token_type DPoP, §5, §6),
// and a client registered with DPoPBoundAccessTokens must send one
// (dpopBinding). RFC 9449 does not define presenting a DPoP-bound token as
// subject_token or actor_token, and RFC 8693 knows nothing of bindings.
// The binding's promise is that a bound token is useless without its
// private key (RFC 9449 §1, §7: a resource accepts it only with a proof
// by that key); an exchange that took a bound token without such a proof
// would launder it into a token of a party that never showed the key,
// and a stolen bound token plus any exchanging client would be enough.
// So monban refuses a bound subject_token or actor_token unless the
// request carries a proof by the same key (the proof's thumbprint equals
// the token's cnf.jkt): invalid_request, the error RFC 8693 §2.2.2 names
// for an unusable subject or actor token. The exchanged token is then
// bound to that key too, so the binding survives the exchange. The proof
// is the token endpoint's (htm POST, htu /token, no ath: §4.3 asks for
// ath only at resources). In practice a service that receives a bound
// token from a browser app holds no key of it and cannot exchange it; such
// deployments issue the subject token unbound, and the exchanging
// service may bind the result to its own key.
func (s *tokenServer) TokenExchange(ctx context.Context, r *zop.ClientRequest[oidc.TokenExchangeRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	switch {
	case !p.cfg.TokenExchange:
		return nil, oidc.ErrUnsupportedGrantType().WithDescription("token exchange is not enabled")
	case c.Public() || !c.HasGrant(GrantTokenExchange):
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the token exchange grant")
	}
	d := r.Data
	if d.SubjectTokenType != oidc.AccessTokenType {
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token_type must be %s", oidc.AccessTokenType)
	}
	if d.RequestedTokenType != "" && d.RequestedTokenType != oidc.AccessTokenType {
		return nil, oidc.ErrInvalidRequest().WithDescription("only access tokens are issued (requested_token_type %s)", oidc.AccessTokenType)
	}
	targets, err := exchangeTargets(c, d.Audience, d.Resource)
	if err != nil {
		return nil, err
	}
	subject, err := p.exchangeSubject(ctx, d.SubjectToken)
	if err != nil {
		return nil, err
	}
	scopes, err := exchangeScopes(strings.Fields(subject.Scope), d.Scopes)
	if err != nil {
		return nil, err
	}
	act, err := p.exchangeActor(ctx, c, subject, d.ActorToken, d.ActorTokenType)
	if err != nil {
		return nil, err
	}
	jkt, err := p.dpopBinding(ctx, c) // last check: it spends the proof's jti
	if err != nil {
		return nil, err
	}
	now := p.now()
	ttl := p.cfg.AccessTokenTTL
	if c.AccessTokenTTL > 0 {
		ttl = c.AccessTokenTTL
	}
	exp := min(now.Add(ttl).Unix(), subject.Expiry)
	at := accessTokenClaims{
		Issuer: p.issuer, Subject: subject.Subject, Audience: targets,
		Expiry: exp, IssuedAt: now.Unix(), JTI: storage.NewID(),
		ClientID: c.ID, Scope: scopeString(scopes), AuthTime: subject.AuthTime,
		SID: subject.SID, FamilyID: subject.FamilyID, Act: act, Cnf: confirmationOf(jkt),
	}
	token, err := p.keys.Sign(p.cfg.AccessTokenAlg, typAccessToken, at)
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	eventsOr(p.cfg.Events).TokenIssued(GrantTokenExchange)
	p.log.InfoContext(ctx, "token exchanged", "event", "token_exchange", "client_id", c.ID,
		"subject_client_id", subject.ClientID, "user_id", subject.Subject, "audience", targets)
	return zop.NewResponse(&oidc.TokenExchangeResponse{
		AccessToken: token, IssuedTokenType: oidc.AccessTokenType, TokenType: tokenType(jkt),
		ExpiresIn: uint64(max(exp-now.Unix(), 0)), Scopes: scopes,
	}), nil
}

// exchangeTargetParam reports whether key may be repeated in a token
// request: audience and resource, and only in a token exchange request
// with one grant_type (RFC 8693 §2.1: "Multiple audience parameters MAY
// be used", "multiple resource parameters MAY be used"). Every other
// parameter, and these two in every other grant, is refused when
// repeated (RFC 6749 §3.2, formGuard).
func exchangeTargetParam(form url.Values, key string) bool {
	return (key == "audience" || key == "resource") &&
		len(form["grant_type"]) == 1 && form.Get("grant_type") == GrantTokenExchange
}

// exchangeTargets returns the audiences of the new token: the audience
// and resource parameters together (RFC 8693 §2.1), each one the client
// may exchange tokens for (invalid_target otherwise, §2.2.2).
func exchangeTargets(c *storage.Client, audience, resource []string) ([]string, error) {
	var out []string
	for _, t := range slices.Concat(audience, resource) {
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if !slices.Contains(c.TokenExchangeAudiences, t) {
			return nil, oidc.ErrInvalidTarget().WithDescription("the client may not exchange tokens for this audience")
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, oidc.ErrInvalidRequest().WithDescription("audience or resource is required")
	}
	return out, nil
}

// exchangeSubject verifies the subject token: a live user access token
// of this provider.
func (p *Provider) exchangeSubject(ctx context.Context, token string) (*accessTokenClaims, error) {
	at, u, err := p.activeAccessToken(ctx, token)
	switch {
	case errors.Is(err, errTokenInactive):
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token is invalid, expired or revoked")
	case err != nil:
		return nil, p.serverError(ctx, err)
	case u == nil: // a client_credentials token: no user to act for
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token must be a user's access token")
	}
	return at, provenKey(ctx, at, "subject_token")
}

// provenKey refuses a DPoP-bound token presented for exchange (param
// names it) unless the request's DPoP proof is by the key it is bound
// to; see TokenExchange for the reasoning.
func provenKey(ctx context.Context, at *accessTokenClaims, param string) error {
	if at.Cnf == nil || at.Cnf.JKT == "" {
		return nil
	}
	if proof := dpopFrom(ctx); proof == nil || proof.jkt != at.Cnf.JKT {
		return oidc.ErrInvalidRequest().WithDescription("%s is DPoP-bound: send a DPoP proof by the key it is bound to", param)
	}
	return nil
}

// exchangeActor builds the `act` claim (RFC 8693 §4.1); see TokenExchange.
func (p *Provider) exchangeActor(ctx context.Context, c *storage.Client, subject *accessTokenClaims, token string, typ oidc.TokenType) (*actClaim, error) {
	act := &actClaim{Subject: c.ID, Act: subject.Act}
	switch {
	case token == "" && typ == "":
		return act, nil
	case token == "" || typ == "":
		// §2.1: actor_token_type is required when actor_token is present,
		// and must not be sent without it.
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token and actor_token_type go together")
	case typ != oidc.AccessTokenType:
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token_type must be %s", oidc.AccessTokenType)
	}
	at, _, err := p.activeAccessToken(ctx, token)
	switch {
	case errors.Is(err, errTokenInactive):
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token is invalid, expired or revoked")
	case err != nil:
		return nil, p.serverError(ctx, err)
	case at.ClientID != c.ID:
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token must have been issued to the client that exchanges")
	}
	act.Subject = at.Subject
	return act, provenKey(ctx, at, "actor_token")
}

// exchangeScopes returns the scopes of the new token: those requested,
// each one of the subject token's, or the subject token's when none are
// requested (RFC 8693 §2.1; scopes never widen).
func exchangeScopes(granted, requested []string) ([]string, error) {
	requested = slices.DeleteFunc(slices.Clone(requested), func(s string) bool { return s == "" })
	if len(requested) == 0 {
		return granted, nil
	}
	var out []string
	for _, sc := range requested {
		if !slices.Contains(granted, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q was not granted to the subject token", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}
