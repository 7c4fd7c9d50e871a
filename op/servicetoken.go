package op

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrTokenInactive is VerifyServiceToken's answer for a token that is
// not, or no longer, a live service-account token.
var ErrTokenInactive = errTokenInactive

// ServiceToken is a verified, live access token that a service account
// (a confidential client) got for itself with the client_credentials
// grant (RFC 6749 §4.4): what the admin API (web/adminapi, through an
// adapter in cmd/internal/app) authorises calls with.
type ServiceToken struct {
	ClientID string
	// Scopes are the token's scopes that the client still registers now:
	// a scope taken from the client stops working at once, not when its
	// tokens expire.
	Scopes []string
	JTI    string
	Expiry time.Time
	// JKT is the thumbprint of the DPoP key the token is bound to
	// (cnf.jkt, RFC 9449 §6); empty for a bearer token. A bound token is
	// good only with a proof by that key (CheckResourceProof).
	JKT string
}

// VerifyServiceToken verifies a JWT access token we issued (signature,
// iss, exp, iat: parseAccessToken) and checks that it is live (deny list,
// client present, enabled, still confidential and allowed the grant:
// activeClientToken, the same checks as introspection). A token of any
// other grant (one standing for a person) is ErrTokenInactive, as is
// every token that fails a check; other errors are store failures.
func (p *Provider) VerifyServiceToken(ctx context.Context, token string) (*ServiceToken, error) {
	at, err := p.parseAccessToken(token, p.now())
	if err != nil || at.GrantType != grantClientCredentials {
		return nil, ErrTokenInactive
	}
	c, err := p.activeClientToken(ctx, at)
	if err != nil {
		if errors.Is(err, errTokenInactive) {
			return nil, ErrTokenInactive
		}
		return nil, err
	}
	var scopes []string
	for _, s := range strings.Fields(at.Scope) {
		if slices.Contains(c.Scopes, s) {
			scopes = append(scopes, s)
		}
	}
	st := &ServiceToken{ClientID: c.ID, Scopes: scopes, JTI: at.JTI, Expiry: time.Unix(at.Expiry, 0).UTC()}
	if at.Cnf != nil {
		st.JKT = at.Cnf.JKT
	}
	return st, nil
}
