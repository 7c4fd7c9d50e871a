package op

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// errTokenInactive means an access token is not, or no longer, usable.
var errTokenInactive = errors.New("access token inactive")

// activeAccessToken verifies a JWT access token and checks, in one store
// round trip (a read of the user's liveness version and the deny list when
// this replica already saw the token live and nothing of the user's
// changed since), that nothing has taken
// it away since it was issued (RFC 7662 §2.2 `active`; RFC 7009 §2.1):
//   - its jti is not on the deny list (revoked at /revoke);
//   - its refresh family (`fid`) is not revoked (refresh-token revocation,
//     reuse detection, logout of a session-bound grant, forced logout);
//   - the browser session it names (`sid`) is live: not logged out,
//     revoked, idle or expired. Tokens of offline_access grants carry no
//     `sid` (see issueTokens) and so survive the session, not their family;
//   - its user exists and is not disabled.
//
// A client_credentials token (`gty`, RFC 6749 §4.4) has no user: it is
// checked by activeClientToken instead, and the user returned is nil.
//
// It returns errTokenInactive for a token that is not active; any other
// error is a store failure.
func (p *Provider) activeAccessToken(ctx context.Context, token string) (*accessTokenClaims, *storage.User, error) {
	now := p.now()
	key, version := keyOf(token), p.keys.Version()
	at, err := p.parseAccessTokenKey(token, key, version, now)
	if err != nil {
		return nil, nil, errTokenInactive
	}
	if at.GrantType != "" {
		if at.GrantType != grantClientCredentials {
			return nil, nil, errTokenInactive
		}
		if _, err := p.activeClientToken(ctx, at); err != nil {
			return nil, nil, err
		}
		return at, nil, nil
	}
	// A status this replica read before is still true while the user's
	// liveness version has not moved and the jti is not on the deny list
	// (storage.AccessTokens.LivenessVersion): two primary-key reads
	// instead of the four lookups, whatever other people revoke. Only
	// live statuses are remembered, and time-based ends (expiry,
	// idleness) are checked again now; a cached status that no longer
	// looks live is read anew.
	if st, ok := p.verified.status(key, version); ok && p.live(at, st, now) {
		v, revoked, err := p.store.LivenessVersion(ctx, at.JTI, at.Subject)
		switch {
		case err != nil:
			return nil, nil, err
		case revoked:
			return nil, nil, errTokenInactive
		case v == st.Version:
			u := *st.User
			return at, &u, nil
		}
	}
	st, err := p.store.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{
		JTI: at.JTI, SessionID: at.SID, FamilyID: at.FamilyID, UserID: at.Subject,
	})
	if err != nil {
		return nil, nil, err
	}
	if !p.live(at, st, now) {
		return nil, nil, errTokenInactive
	}
	p.verified.setStatus(key, version, st)
	u := *st.User
	return at, &u, nil
}

// live reports whether st keeps the user token at alive at now: not on the
// deny list, its family not revoked, its user present and enabled, and
// its session (when it has one) active.
func (p *Provider) live(at *accessTokenClaims, st *storage.AccessTokenStatus, now time.Time) bool {
	switch {
	case st.Revoked, st.FamilyRevoked, st.User == nil, st.User.Disabled:
		return false
	case at.SID != "" && (st.Session == nil || !p.sessions.Live(st.Session, now)):
		return false
	}
	return true
}

// hasScope reports whether the space-separated scope string holds want,
// without building the list (strings.Fields).
func hasScope(scope, want string) bool {
	for s := range strings.FieldsSeq(scope) {
		if s == want {
			return true
		}
	}
	return false
}

// introspectionResponse is the answer of the introspection endpoint
// (RFC 7662 §2.2). An inactive token gets only {"active": false}.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	// Groups are the names of the user's groups, when the token's scopes
	// include groups (RFC 7662 §2.2 allows further members).
	Groups []string `json:"groups,omitempty"`
	// Cnf is the DPoP key confirmation of a bound token (RFC 9449 §6.2),
	// whose token_type is then DPoP.
	Cnf *confirmation `json:"cnf,omitempty"`
	// Act is the actor of an exchanged token (RFC 8693 §4.1, which lets
	// introspection carry it; tokenexchange.go).
	Act *actClaim `json:"act,omitempty"`
}

// Introspect is the token introspection endpoint (RFC 7662 §2). The
// caller must authenticate as a confidential client, with the same rules
// as at the token endpoint (VerifyClient); public clients cannot
// introspect. It answers for JWT access tokens: active only when
// activeAccessToken accepts the token and the caller is the client it was
// issued to or one of its audiences (§2.1: the server decides which
// tokens a caller may learn about). Every other token, a refresh token
// included, is inactive. A store failure is 503, never active:false for a
// live token nor active:true for a revoked one.
func (s *tokenServer) Introspect(ctx context.Context, r *zop.Request[zop.IntrospectionRequest]) (*zop.Response, error) {
	caller, err := s.VerifyClient(ctx, &zop.Request[zop.ClientCredentials]{
		Method: r.Method, URL: r.URL, Header: r.Header, Form: r.Form, Data: r.Data.ClientCredentials,
	})
	if err != nil {
		return nil, err
	}
	c := caller.(client).c
	if c.Public() {
		return nil, errInvalidClient()
	}
	inactive := zop.NewResponse(introspectionResponse{Active: false})
	token := r.Data.Token
	if !strings.Contains(token, ".") {
		return inactive, nil
	}
	at, u, err := s.p.activeAccessToken(ctx, token)
	switch {
	case errors.Is(err, errTokenInactive):
		return inactive, nil
	case err != nil:
		return nil, s.p.serverError(ctx, err)
	case at.ClientID != c.ID && !slices.Contains(at.Audience, c.ID):
		return inactive, nil
	}
	resp := introspectionResponse{
		Active: true, Scope: at.Scope, ClientID: at.ClientID,
		TokenType: oidc.BearerToken, Expiry: at.Expiry, Cnf: at.Cnf, IssuedAt: at.IssuedAt, Act: at.Act,
		Subject: at.Subject, Audience: at.Audience, Issuer: at.Issuer, JTI: at.JTI,
	}
	if at.Cnf != nil {
		resp.TokenType = tokenTypeDPoP
	}
	if u != nil && hasScope(at.Scope, scopeGroups) {
		resp.Groups = slices.Clone(u.Groups)
	}
	return zop.NewResponse(resp), nil
}
