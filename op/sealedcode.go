package op

import (
	"context"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// sealedCodeExchange is CodeExchange for a sealed code (Config.Codes),
// which carries its authorization request: nothing was stored for it, so
// one store operation, RedeemSealedCode, consumes it. A code that does
// not open (tampered, sealed with another key, not a code at all, or past
// its lifetime, RFC 6749 §4.1.2) is invalid_grant (RFC 6749 §5.2), like
// an unknown one. Its tombstone, under its request's ID, makes it single
// use: a failed check burns it too, and a replay is answered as for a
// stored code (codeReused). As the request's session is not tied to a
// stored row, the statement also checks that the session is still live,
// so a logout between /authorize and /token leaves nothing issued, and
// only then records the session as serving the client (for logout).
// The checks run again here, on what the statement read; if the two
// disagree, the exchange fails closed, as CodeExchange's.
func (p *Provider) sealedCodeExchange(ctx context.Context, c *storage.Client, tr *oidc.AccessTokenRequest, jkt string, now time.Time) (*zop.Response, error) {
	if p.cfg.Codes == nil {
		return nil, errBadCode()
	}
	req, err := p.cfg.Codes.Open(tr.Code)
	if err != nil {
		return nil, errBadCode()
	}
	red := &storage.CodeRedemption{
		CodeHash: pending.CodeHash(req), Now: now, FamilyID: storage.NewOrderedID(),
		ClientID: c.ID, RedirectURI: tr.RedirectURI, CodeChallenge: pkceChallenge(tr.CodeVerifier),
		DPoPJKT: jkt, SessionIdle: p.sessions.IdleTimeout(),
	}
	first := p.firstRefreshToken(c, red.FamilyID, jkt, now)
	if first != nil {
		red.RefreshToken = first.record
	}
	res, err := p.store.RedeemSealedCode(ctx, red, req)
	if err != nil {
		return nil, p.redeemFailed(ctx, c, err, now)
	}
	req.FamilyID, req.User = red.FamilyID, res.User
	return p.finishExchange(ctx, c, exchanged{req: req, session: res.Session, first: first, stored: res.Stored, granted: &res.Granted}, tr, jkt, now)
}
