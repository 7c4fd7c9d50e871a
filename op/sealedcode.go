package op

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		CodeHash: pending.CodeHash(req), Now: now, FamilyID: storage.NewID(),
		ClientID: c.ID, RedirectURI: tr.RedirectURI, CodeChallenge: pkceChallenge(tr.CodeVerifier),
		DPoPJKT: jkt, SessionIdle: p.sessions.IdleTimeout(),
	}
	first := p.firstRefreshToken(c, red.FamilyID, jkt, now)
	if first != nil {
		red.RefreshToken = first.record
	}
	res, err := p.store.RedeemSealedCode(ctx, red, req)
	var reused *storage.CodeReusedError
	switch {
	case errors.As(err, &reused):
		return nil, p.codeReused(ctx, c, reused, now)
	case errors.Is(err, storage.ErrNotFound):
		return nil, errBadCode()
	case err != nil:
		return nil, p.serverError(ctx, err)
	}
	req.FamilyID, req.User = red.FamilyID, res.User
	checkErr := checkRedemption(req, c, tr, jkt)
	if checkErr == nil {
		checkErr = p.checkCodeSession(req, res.Session, now)
	}
	if res.Granted != (checkErr == nil) || res.Stored != (first != nil && checkErr == nil) {
		// Fail closed: whatever the store issued is taken back.
		if err := p.revokeCodeFamily(ctx, c, red.FamilyID, now); err != nil {
			return nil, p.serverError(ctx, err)
		}
		return nil, p.serverError(ctx, fmt.Errorf("op: exchange of the sealed code of request %q: the store granted %v and stored a refresh token: %v, the checks say %v",
			req.ID, res.Granted, res.Stored, checkErr))
	}
	if checkErr != nil {
		return nil, checkErr
	}
	return p.issueTokens(ctx, c, grant{
		userID: req.UserID, sessionID: req.SessionID, scopes: req.Scopes,
		authTime: req.AuthTime, amr: req.AMR, nonce: req.Nonce, claims: req.Claims,
		familyID: req.FamilyID, offline: slices.Contains(req.Scopes, scopeOfflineAccess), jkt: jkt,
		user: req.User, first: first,
	}, nil)
}
