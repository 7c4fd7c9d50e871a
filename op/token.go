package op

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// CodeExchange redeems an authorization code (RFC 6749 §4.1.3) in one
// atomic store operation (RedeemAuthCode), so of many concurrent
// redemptions exactly one can win: it consumes the code and, in the same
// statement, stores the first refresh token of the family the exchange
// starts, but only if the exchange's checks hold there too. A code
// redeemed by the wrong client or with the wrong redirect_uri or verifier
// is burned, and nothing else is stored. The checks run again here, where
// they produce the precise error; if the two disagree, the exchange fails
// closed (a server error, and the family is revoked).
//
// A second use of the code is denied and, RFC 6749 §4.1.2, the tokens
// issued based on it are revoked (revokeCodeFamily), but only when the
// client replaying it, already authenticated here, is the client the code
// was issued to: another client must not be able to revoke a stranger's
// grant with a leaked code.
//
// A sealed code (Config.Codes), which carries its request instead of
// naming a stored one, is exchanged by sealedCodeExchange in the same way.
func (s *tokenServer) CodeExchange(ctx context.Context, r *zop.ClientRequest[oidc.AccessTokenRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	jkt, err := p.dpopBinding(ctx, c) // before the code is consumed
	if err != nil {
		return nil, err
	}
	now := p.now()
	if pending.IsSealedCode(r.Data.Code) { // the fast path's codes (sealedcode.go)
		return p.sealedCodeExchange(ctx, c, r.Data, jkt, now)
	}
	red := &storage.CodeRedemption{
		CodeHash: storage.HashToken(r.Data.Code), Now: now, FamilyID: storage.NewOrderedID(),
		ClientID: c.ID, RedirectURI: r.Data.RedirectURI, CodeChallenge: pkceChallenge(r.Data.CodeVerifier),
		DPoPJKT: jkt, SessionIdle: p.sessions.IdleTimeout(),
	}
	// A redirect_uri PostgreSQL cannot hold matches no stored one: the
	// exchange fails below, and the store is asked for no token.
	first := p.firstRefreshToken(c, red.FamilyID, jkt, now)
	if first != nil && storable(red.RedirectURI) {
		red.RefreshToken = first.record
	} else {
		first, red.RedirectURI = nil, ""
	}
	req, stored, err := p.store.RedeemAuthCode(ctx, red)
	if err != nil {
		return nil, p.redeemFailed(ctx, c, err, now)
	}
	return p.finishExchange(ctx, c, exchanged{req: req, session: req.Session, first: first, stored: stored}, r.Data, jkt, now)
}

// exchanged is what a code's redemption statement read and did: the
// consumed request (with its user), the request's session, the first
// refresh token asked for (nil: none), whether the store stored it, and,
// when the store says so separately (RedeemSealedCode), whether its
// checks held.
type exchanged struct {
	req     *storage.AuthRequest
	session *storage.Session
	first   *newToken
	stored  bool
	granted *bool
}

// redeemFailed answers a redemption the store refused: a replay
// (codeReused), an unknown or expired code (invalid_grant), or a store
// failure.
func (p *Provider) redeemFailed(ctx context.Context, c *storage.Client, err error, now time.Time) error {
	var reused *storage.CodeReusedError
	switch {
	case errors.As(err, &reused):
		return p.codeReused(ctx, c, reused, now)
	case errors.Is(err, storage.ErrNotFound):
		return errBadCode()
	}
	return p.serverError(ctx, err)
}

// finishExchange runs the exchange's checks (checkRedemption,
// checkCodeSession) on what the redemption statement read, for their
// precise errors, and issues the tokens when they hold. The statement made
// the same checks before it stored anything; if the two disagree the
// exchange fails closed: whatever the store issued is taken back.
func (p *Provider) finishExchange(ctx context.Context, c *storage.Client, x exchanged, tr *oidc.AccessTokenRequest, jkt string, now time.Time) (*zop.Response, error) {
	req := x.req
	checkErr := checkRedemption(req, c, tr, jkt)
	if checkErr == nil {
		checkErr = p.checkCodeSession(req, x.session, now)
	}
	ok := checkErr == nil
	if x.stored != (x.first != nil && ok) || x.granted != nil && *x.granted != ok {
		if err := p.revokeCodeFamily(ctx, c, req.FamilyID, now); err != nil {
			return nil, p.serverError(ctx, err)
		}
		said := ""
		if x.granted != nil {
			said = fmt.Sprintf(" (its checks held: %v)", *x.granted)
		}
		return nil, p.serverError(ctx, fmt.Errorf("op: code exchange of request %q: the store stored a refresh token: %v%s, the checks say %v",
			req.ID, x.stored, said, checkErr))
	}
	if checkErr != nil {
		return nil, checkErr
	}
	return p.issueTokens(ctx, c, grant{
		userID: req.UserID, sessionID: req.SessionID, scopes: req.Scopes,
		authTime: req.AuthTime, amr: req.AMR, nonce: req.Nonce, claims: req.Claims,
		familyID: req.FamilyID, offline: slices.Contains(req.Scopes, scopeOfflineAccess), jkt: jkt,
		user: req.User, first: x.first,
	}, nil)
}

// errBadCode is the answer for a code that is unknown, forged, expired or
// already used (RFC 6749 §5.2: invalid_grant), which all look the same.
func errBadCode() error {
	return oidc.ErrInvalidGrant().WithDescription("the code is invalid, expired or already used")
}

// firstRefreshToken is the first refresh token of the family a code
// exchange by c starts, or nil when c has no refresh grant.
func (p *Provider) firstRefreshToken(c *storage.Client, familyID, jkt string, now time.Time) *newToken {
	if !c.HasGrant(string(oidc.GrantTypeRefreshToken)) {
		return nil
	}
	rt := p.newRefreshToken(familyID, c, now)
	if c.Public() {
		// RFC 9449 §5: a public client's refresh tokens are bound to the
		// key too; a confidential client's are bound to its credentials,
		// and it may change keys.
		rt.record.DPoPJKT = jkt
	}
	return &rt
}

// codeReused answers a second use of a code (RFC 6749 §4.1.2): it is
// denied and, when the client replaying it is the one the code was issued
// to, the tokens the first use issued are revoked (revokeCodeFamily).
func (p *Provider) codeReused(ctx context.Context, c *storage.Client, reused *storage.CodeReusedError, now time.Time) error {
	if reused.ClientID == c.ID {
		if err := p.revokeCodeFamily(ctx, c, reused.FamilyID, now); err != nil {
			return p.serverError(ctx, err)
		}
		p.audit(ctx, storage.AuditEntry{Action: storage.ActionCodeReuse, Target: "client:" + c.ID,
			Detail: "family " + reused.FamilyID + " revoked"}, "family_id", reused.FamilyID, "request_id", reused.RequestID)
	}
	return errBadCode()
}

// checkRedemption is the code exchange's checks of the consumed request
// (RFC 6749 §4.1.3, RFC 9449 §10, RFC 7636 §4.6): the ones RedeemAuthCode makes before
// it stores the refresh token, here with their precise errors.
func checkRedemption(req *storage.AuthRequest, c *storage.Client, tr *oidc.AccessTokenRequest, jkt string) error {
	if req.ClientID != c.ID {
		return oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if err := checkCodeJKT(req.DPoPJKT, jkt); err != nil { // RFC 9449 §10 (dpop_jkt.go)
		return err
	}
	if tr.RedirectURI != req.RedirectURI { // RFC 6749 §4.1.3: identical value
		return oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	if err := verifyPKCE(req.CodeChallenge, tr.CodeVerifier); err != nil {
		return err
	}
	if req.User == nil || req.User.Disabled {
		return oidc.ErrInvalidGrant().WithDescription("the user can no longer sign in")
	}
	return nil
}

// checkCodeSession is the exchange's check of the session the code was
// issued in, as the store read it (sess, nil when absent): it must still
// be live for the request's user. A logout marks its session revoked and
// leaves the requests authenticated by it, so without this check a code
// issued just before the logout would still get tokens (OIDC Core §3.1.3.2
// leaves validating the grant to the server). A request naming no session
// (none do when issued by the sign-in pages) is judged by its user alone.
func (p *Provider) checkCodeSession(req *storage.AuthRequest, sess *storage.Session, now time.Time) error {
	if req.SessionID == "" {
		return nil
	}
	if sess == nil || sess.UserID != req.UserID || !p.sessions.Live(sess, now) {
		return oidc.ErrInvalidGrant().WithDescription("the session the code was issued in has ended")
	}
	return nil
}

// storable reports whether PostgreSQL can hold s as text: valid UTF-8
// without NUL bytes.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// pkceChallenge is the challenge RedeemAuthCode compares with the stored
// code_challenge: the S256 of the verifier (RFC 7636 §4.6), "" when none
// was sent, and for a malformed verifier "!", which no stored challenge
// equals (parsePKCE stores well-formed S256 challenges only).
func pkceChallenge(verifier string) string {
	switch {
	case verifier == "":
		return ""
	case !codeVerifier.MatchString(verifier):
		return "!"
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// revokeCodeFamily revokes what a code exchange issued (RFC 6749 §4.1.2):
// the refresh family, which takes every refresh token and every access
// token carrying its `fid` with it, and the deny-list entry for the first
// access token, whose jti is the family ID (see issueTokens), which covers
// the access token of a client without the refresh grant. Both are
// idempotent, and harmless when the first exchange failed and issued
// nothing. The deny-list entry lasts as long as an access token issued now
// would, which outlives the one issued at the first exchange.
func (p *Provider) revokeCodeFamily(ctx context.Context, c *storage.Client, familyID string, now time.Time) error {
	if familyID == "" {
		return nil
	}
	if err := p.store.RevokeRefreshFamily(ctx, familyID, now); err != nil {
		return err
	}
	return p.store.RevokeAccessToken(ctx, familyID, now.Add(max(p.cfg.AccessTokenTTL, c.AccessTokenTTL)))
}

// verifyPKCE checks the code_verifier (RFC 7636 §4.6). Once a challenge
// was sent the verifier is mandatory, and a verifier for a code issued
// without a challenge is a downgrade attempt (RFC 9700 §4.8): both fail.
func verifyPKCE(challenge, verifier string) error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return oidc.ErrInvalidGrant().WithDescription("code_verifier sent for a code issued without PKCE")
	case !codeVerifier.MatchString(verifier):
		return oidc.ErrInvalidGrant().WithDescription("code_verifier is missing or malformed")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return oidc.ErrInvalidGrant().WithDescription("code_verifier does not match the code_challenge")
	}
	return nil
}

// RefreshToken rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2):
// every use returns a new token, and presenting a rotated token again
// revokes its whole family, refresh and access tokens alike, unless the
// optional reuse grace window (Config.RefreshReuseGrace) accepts it.
//
// The common case is one store round trip: RotateRefreshGrant rotates
// only when every check below holds (client, scopes, group rule, session,
// DPoP key, an enabled user), in the same statement. When it rotates
// nothing, refreshChecked reads the grant and makes the checks one by
// one, so a refused request gets the precise error, changes nothing, and
// a replayed token is detected as before.
func (s *tokenServer) RefreshToken(ctx context.Context, r *zop.ClientRequest[oidc.RefreshTokenRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	now := p.now()
	hash := storage.TokenKey(r.Data.RefreshToken)
	// An empty scope parameter is the same as none (RFC 6749 §3.1): the
	// original scopes (checklist B6).
	requested := slices.DeleteFunc(slices.Clone([]string(r.Data.Scopes)), func(s string) bool { return s == "" })
	// RFC 9449 §5: a refresh token bound to a DPoP key needs a proof by
	// that key. The proof is checked (and its jti recorded) before the
	// rotation, which needs its key; a failed check is reported in its
	// place among the others by refreshChecked.
	jkt, dpopErr := p.dpopBinding(ctx, c)
	next := p.newRefreshToken("", c, now)
	if dpopErr == nil {
		cond := storage.RefreshConditions{
			ClientID: c.ID, DPoPJKT: jkt, Scopes: requested, AllowedGroups: c.AllowedGroups,
			SessionIdle: p.sessions.IdleTimeout(),
		}
		rg, err := p.store.RotateRefreshGrant(ctx, hash, next.record, now, p.cfg.RefreshReuseGrace, cond)
		switch {
		case err == nil:
			if !cond.Hold(rg.Token, rg.User) {
				// Fail closed: the store rotated what op's own checks
				// refuse (the session's liveness aside, which is the
				// statement's own answer), so the grant is taken back,
				// not answered.
				err := fmt.Errorf("op: the store rotated refresh family %q, which fails the refresh's conditions", rg.Token.FamilyID)
				if rerr := p.store.RevokeRefreshFamily(ctx, rg.Token.FamilyID, now); rerr != nil {
					err = errors.Join(err, rerr)
				}
				return nil, p.serverError(ctx, err)
			}
			return p.issueRefreshed(ctx, c, rotation{stored: rg.Token, user: rg.User, requested: requested,
				sessionLive: rg.SessionLive, graceReuse: rg.GraceReuse, jkt: jkt, token: next.token})
		case !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict):
			return nil, p.serverError(ctx, err)
		}
	}
	return p.refreshChecked(ctx, c, hash, requested, jkt, dpopErr, next, now)
}

// refreshChecked is the refresh grant when RotateRefreshGrant rotated
// nothing: it reads the token, its session and its user, refuses with the
// first check that fails, and otherwise rotates with RotateRefreshToken,
// which detects reuse and revokes the family. dpopErr is the DPoP check's
// outcome, reported after the checks that precede it.
func (p *Provider) refreshChecked(ctx context.Context, c *storage.Client, hash string, requested []string, jkt string, dpopErr error, next newToken, now time.Time) (*zop.Response, error) {
	rg, err := p.store.GetRefreshGrant(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid or expired")
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	old := rg.Token
	// Another client's token is refused without touching it: that is a
	// client bug, not a sign of theft (RFC 6749 §6).
	if old.ClientID != c.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was issued to another client")
	}
	for _, sc := range requested { // narrower scopes only (RFC 6749 §6)
		if !slices.Contains(old.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("a requested scope was not granted originally")
		}
	}
	// The client's group rule holds at every refresh: a person removed
	// from the groups loses the grant (issue 15).
	if rg.User != nil && !allowedByGroups(c, rg.User) {
		return nil, oidc.ErrInvalidGrant().WithDescription(notInGroupDesc)
	}
	sessionLive := rg.Session != nil && p.sessions.Live(rg.Session, now)
	if !slices.Contains(old.Scopes, scopeOfflineAccess) && !sessionLive {
		// Without offline_access the grant lives only as long as the
		// browser session it came from.
		return nil, oidc.ErrInvalidGrant().WithDescription("the session this refresh token belongs to has ended")
	}
	if dpopErr != nil {
		return nil, dpopErr
	}
	if old.DPoPJKT != "" && jkt != old.DPoPJKT {
		return nil, errInvalidDPoPProof("the refresh token is bound to another DPoP key")
	}
	stored, err := p.store.RotateRefreshToken(ctx, hash, next.record, now, p.cfg.RefreshReuseGrace)
	switch {
	case errors.Is(err, storage.ErrTokenReused):
		eventsOr(p.cfg.Events).RefreshReuse()
		p.audit(ctx, storage.AuditEntry{Action: storage.ActionRefreshReuse, ActorID: old.UserID, Target: "client:" + c.ID,
			Detail: "family " + old.FamilyID + " revoked"}, "family_id", old.FamilyID)
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid or expired")
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict):
		// ErrConflict: the store kept losing a race against another use of
		// this token's family (only concurrent reuse causes that), so this
		// request lost too (checklist R5).
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token is invalid or expired")
	case err != nil:
		return nil, p.serverError(ctx, err)
	}
	return p.issueRefreshed(ctx, c, rotation{stored: stored, user: rg.User, requested: requested,
		sessionLive: sessionLive, graceReuse: !old.RotatedAt.IsZero(), jkt: jkt, token: next.token})
}

// rotation is a refresh token rotated, with what the tokens it answers
// with are issued from.
type rotation struct {
	stored      *storage.RefreshToken // the successor as stored
	user        *storage.User         // nil: issueTokens reads it
	requested   []string              // narrower scopes asked for; none: the grant's
	sessionLive bool
	graceReuse  bool // the presented token was rotated before (grace window)
	jkt         string
	token       string // the successor's value
}

// issueRefreshed answers a rotation with tokens.
func (p *Provider) issueRefreshed(ctx context.Context, c *storage.Client, r rotation) (*zop.Response, error) {
	stored := r.stored
	if r.graceReuse {
		p.log.InfoContext(ctx, "rotated refresh token accepted again inside the grace window",
			"event", "refresh_token_grace_reuse", "client_id", c.ID, "family_id", stored.FamilyID, "user_id", stored.UserID)
	}
	scopes := stored.Scopes
	if len(r.requested) > 0 {
		scopes = r.requested
	}
	// An offline grant outlives its browser session, but a new ID token
	// must not name a session that has ended: relying parties match `sid`
	// against back-channel logout tokens (OIDC Back-Channel Logout 1.0
	// §2.1, §2.4), so the ID token is still issued (OIDC Core §12.2) and
	// `sid` is omitted.
	sid := stored.SessionID
	if !r.sessionLive {
		sid = ""
	}
	return p.issueTokens(ctx, c, grant{
		userID: stored.UserID, sessionID: sid, scopes: scopes,
		authTime: stored.AuthTime, amr: stored.AMR, claims: stored.Claims,
		familyID: stored.FamilyID, offline: slices.Contains(stored.Scopes, scopeOfflineAccess),
		user: r.user, jkt: r.jkt,
	}, &refreshResult{token: r.token})
}

// newToken pairs a refresh token with the record the store keeps.
type newToken struct {
	token  string
	record *storage.RefreshToken
}

// newRefreshToken makes a refresh token of the family for c. The family's
// absolute lifetime is set when the family starts; the store keeps it on
// rotation.
func (p *Provider) newRefreshToken(familyID string, c *storage.Client, n time.Time) newToken {
	tok := storage.NewOrderedToken()
	ttl := p.cfg.RefreshTokenTTL
	if c.RefreshTokenTTL > 0 {
		ttl = c.RefreshTokenTTL
	}
	// Each token lives until the idle limit; the family until its absolute
	// lifetime, which the store keeps on rotation and checks too.
	return newToken{token: tok, record: &storage.RefreshToken{
		ID: storage.NewOrderedID(), TokenHash: storage.TokenKey(tok), FamilyID: familyID,
		ClientID: c.ID, CreatedAt: n, ExpiresAt: n.Add(min(ttl, p.cfg.RefreshTokenIdleTTL)), FamilyExpiresAt: n.Add(ttl),
	}}
}

// scopeString joins scopes as OAuth writes them.
func scopeString(scopes []string) string { return strings.Join(scopes, " ") }
