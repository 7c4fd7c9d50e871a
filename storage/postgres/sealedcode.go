package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// redeemSealedCode consumes a sealed code (storage.AuthRequests
// RedeemSealedCode) in one statement: the INSERT of the code's tombstone
// (RFC 6749 §4.1.2), ON CONFLICT DO NOTHING, so of concurrent callers
// exactly one inserts it and a replay inserts nothing; `granted`, which
// holds a row only for that one caller, when the checks made in Go hold
// ($9: client, redirect URI, challenge, dpop_jkt) and the request's
// session is live for its user (storage.Session.Active at $2, with $10
// the last activity an idle session needs after, NULL: no idle timeout)
// and its user is enabled (each row read once, in sess and usr, which the
// answer reuses); then, only with that row, the session's client
// (for back-channel logout) and the family's first refresh token ($11: one
// was asked for). It returns what it did and the session and user it
// judged, which the token endpoint would otherwise read in round trips of
// their own.
var redeemSealedCode = `WITH tombstone AS (
		INSERT INTO auth_code_tombstones (code_hash, request_id, client_id, family_id, consumed_at, expires_at)
		VALUES ($1, $4, $5, $3, $2, $6)
		ON CONFLICT (code_hash) DO NOTHING
		RETURNING 1
	), sess AS (
		SELECT id, user_id, expires_at, last_seen_at, revoked_at FROM sessions WHERE id = $8
	), usr AS (
		SELECT * FROM users WHERE id = $7
	), granted AS (
		SELECT 1 FROM tombstone, sess s, usr u
		WHERE $9::boolean AND s.user_id = $7 AND s.revoked_at IS NULL AND s.expires_at > $2
			AND ($10::timestamptz IS NULL OR s.last_seen_at > $10) AND NOT u.disabled
	), served AS (
		INSERT INTO session_clients (session_id, client_id) SELECT $8, $5 FROM granted ON CONFLICT DO NOTHING
	), issued AS (
		INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, session_id, scopes,
			auth_time, amr, created_at, expires_at, family_expires_at, dpop_jkt, id_token_claims, userinfo_claims)
		SELECT $12, $13, $3, $5, $7, $8, $14, $15, $16, $17, $18, $19, $20, $21, $22
		FROM granted WHERE $11::boolean
		RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM tombstone), EXISTS (SELECT 1 FROM granted), EXISTS (SELECT 1 FROM issued),
		COALESCE(s.id, ''), COALESCE(s.user_id, ''), s.expires_at, s.last_seen_at, s.revoked_at,
		` + userSelect("u", true) + `
	FROM (VALUES (1)) AS one (x) LEFT JOIN sess s ON true LEFT JOIN usr u ON true`

// RedeemSealedCode implements storage.AuthRequests with a single statement
// (redeemSealedCode), so the exchange of a sealed code costs one round
// trip and one synchronous commit, and its authorization cost none. The
// checks that compare the token request with the sealed request are made
// here in Go and sent as one boolean; those that read rows are made in the
// statement.
//
// When no tombstone was inserted, a second read fetches the one that
// exists: the INSERT waited for any concurrent winner to commit, so a
// loser of a race always sees the winner's tombstone.
//
// The session is read, not locked: a logout that commits while this
// statement runs (after its snapshot) does not stop it, and the
// session's logout then misses the client it records. That window is
// the statement's duration; the tokens it issues still name the revoked
// session (`sid`), which the access token's liveness check and a refresh
// without offline_access refuse. A FOR SHARE lock would close it at the
// price of a lock (a WAL record) on the session row per flow.
func (s *Store) RedeemSealedCode(ctx context.Context, red *storage.CodeRedemption, r *storage.AuthRequest) (*storage.SealedRedemption, error) {
	now := red.Now.Truncate(time.Microsecond) // as PostgreSQL keeps times
	if red.CodeHash == "" || !now.Before(r.CodeExpiresAt.Truncate(time.Microsecond)) {
		return nil, fmt.Errorf("postgres: sealed code of request %q: %w", r.ID, storage.ErrNotFound)
	}
	match := r.ClientID == red.ClientID && r.RedirectURI == red.RedirectURI && r.CodeChallenge == red.CodeChallenge &&
		(r.DPoPJKT == "" || r.DPoPJKT == red.DPoPJKT)
	issue := red.RefreshToken != nil
	var rt storage.RefreshToken
	if issue {
		rt = *red.RefreshToken
	}
	var (
		inserted    bool
		out         storage.SealedRedemption
		sess        storage.Session
		u           storage.User
		addr, attrs []byte
	)
	dest := append([]any{&inserted, &out.Granted, &out.Stored, &sess.ID, &sess.UserID,
		scanOptTime{&sess.ExpiresAt}, scanOptTime{&sess.LastSeenAt}, scanOptTime{&sess.RevokedAt}},
		userDest(&u, &addr, &attrs)...)
	err := s.db.QueryRow(ctx, redeemSealedCode, red.CodeHash, red.Now, red.FamilyID, r.ID, r.ClientID,
		r.CodeExpiresAt.Add(storage.SealedCodeTombstoneGrace),
		r.UserID, r.SessionID, match, idleCutoff(red), issue,
		rt.ID, rt.TokenHash, r.Scopes, r.AuthTime, r.AMR, rt.CreatedAt, rt.ExpiresAt, rt.FamilyExpiresAt, rt.DPoPJKT,
		r.Claims.IDToken, r.Claims.UserInfo).Scan(dest...)
	if err == nil {
		err = finishUser(&u, addr, attrs)
	}
	if err != nil {
		return nil, wrapErr(err, "redeem sealed code of request %q", r.ID)
	}
	if !inserted {
		var reused storage.CodeReusedError
		err := s.db.QueryRow(ctx, `SELECT request_id, client_id, family_id FROM auth_code_tombstones
			WHERE code_hash = $1`, red.CodeHash).Scan(&reused.RequestID, &reused.ClientID, &reused.FamilyID)
		if errors.Is(err, pgx.ErrNoRows) { // cleaned up, so expired after all
			return nil, wrapErr(err, "redeem sealed code of request %q: no tombstone", r.ID)
		}
		if err != nil {
			return nil, wrapErr(err, "redeem sealed code: read tombstone")
		}
		return nil, fmt.Errorf("postgres: redeem sealed code: %w", &reused)
	}
	if sess.ID != "" { // "": no such session (any more)
		out.Session = &sess
	}
	if u.ID != "" { // "": no such user (any more)
		cv := u.ClaimsView()
		out.User = &cv
	}
	return &out, nil
}

// idleCutoff is the last activity after which a session is live at
// red.Now under red.SessionIdle (Session.Active), nil without an idle
// timeout: the redemption statements' session check.
func idleCutoff(red *storage.CodeRedemption) *time.Time {
	if red.SessionIdle <= 0 {
		return nil
	}
	cut := red.Now.Add(-red.SessionIdle)
	return &cut
}
