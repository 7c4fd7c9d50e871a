package op

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// Revocation is the token revocation endpoint (RFC 7009 §2). The client
// was authenticated by VerifyClient, as at the token endpoint.
//
//   - A refresh token revokes its whole family (§2.1: "all access tokens
//     based on the same authorization grant" too, through `fid`).
//   - A JWT access token goes on the deny list until it expires.
//   - A token issued to another client is refused (§2.1) and left alone.
//   - An unknown, malformed or expired token is answered 200 (§2.2): the
//     client's goal, that the token is unusable, holds.
//   - A store failure is 503 (§2.2.1), never 200 (CVE-2020-15223).
//
// token_type_hint is not needed: the two kinds cannot be confused (a JWT
// has two dots, a refresh token none), so any hint is ignored (§2.1).
func (s *tokenServer) Revocation(ctx context.Context, r *zop.ClientRequest[oidc.RevocationRequest]) (*zop.Response, error) {
	c := r.Client.(client).c
	token := r.Data.Token
	var err error
	if strings.Contains(token, ".") {
		err = s.p.revokeAccessToken(ctx, c, token)
	} else {
		err = s.p.revokeRefreshToken(ctx, c, token)
	}
	if err != nil {
		return nil, err
	}
	return zop.NewResponse(nil), nil
}

// errNotYourToken refuses to revoke another client's token (RFC 7009 §2.1).
func errNotYourToken() error {
	return oidc.ErrUnauthorizedClient().WithDescription("the token was not issued to this client")
}

func (p *Provider) revokeRefreshToken(ctx context.Context, c *storage.Client, token string) error {
	rt, err := p.store.GetRefreshToken(ctx, storage.TokenKey(token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return p.serverError(ctx, err)
	case rt.ClientID != c.ID:
		return errNotYourToken()
	}
	if err := p.store.RevokeRefreshFamily(ctx, rt.FamilyID, p.now()); err != nil {
		return p.serverError(ctx, err)
	}
	p.log.InfoContext(ctx, "refresh token revoked by its client", "event", "token_revoked",
		"token_type", "refresh_token", "client_id", c.ID, "family_id", rt.FamilyID, "user_id", rt.UserID)
	return nil
}

func (p *Provider) revokeAccessToken(ctx context.Context, c *storage.Client, token string) error {
	at, err := p.parseAccessToken(token, p.now())
	if err != nil {
		return nil // not ours, malformed or expired: nothing left to revoke
	}
	if at.ClientID != c.ID {
		return errNotYourToken()
	}
	// Kept until the token would expire anyway, plus the leeway verifiers
	// allow.
	if err := p.store.RevokeAccessToken(ctx, at.JTI, time.Unix(at.Expiry, 0).Add(clockLeeway)); err != nil {
		return p.serverError(ctx, err)
	}
	p.log.InfoContext(ctx, "access token revoked by its client", "event", "token_revoked",
		"token_type", "access_token", "client_id", c.ID, "jti", at.JTI, "user_id", at.Subject)
	return nil
}
