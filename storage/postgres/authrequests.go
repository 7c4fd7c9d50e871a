package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// authRequestColumns lists the columns in the order scanAuthRequest reads
// them. code_hash is NULL until a code is issued.
const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, response_mode,
	code_challenge, code_challenge_method, prompt, max_age, login_hint, ui_locales, hint_subject,
	created_at, expires_at, user_id, session_id, auth_time, amr, consent_granted, denied,
	COALESCE(code_hash, ''), code_expires_at, acr, id_token_claims, userinfo_claims, dpop_jkt`

// scanAuthRequest scans authRequestColumns, then any extra columns into
// extra.
func scanAuthRequest(row pgx.Row, extra ...any) (*storage.AuthRequest, error) {
	var r storage.AuthRequest
	dest := []any{&r.ID, &r.ClientID, &r.RedirectURI, &r.Scopes, &r.State, &r.Nonce, &r.ResponseMode,
		&r.CodeChallenge, &r.CodeChallengeMethod, &r.Prompt, &r.MaxAge, &r.LoginHint, &r.UILocales, &r.HintSubject,
		&r.CreatedAt, &r.ExpiresAt, &r.UserID, &r.SessionID, scanOptTime{&r.AuthTime}, &r.AMR,
		&r.ConsentGranted, &r.Denied, &r.CodeHash, scanOptTime{&r.CodeExpiresAt}, &r.ACR,
		&r.Claims.IDToken, &r.Claims.UserInfo, &r.DPoPJKT}
	err := row.Scan(append(dest, extra...)...)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

const authRequestExists = `SELECT EXISTS (SELECT 1 FROM auth_requests WHERE id = $1)`

// CreateAuthRequest implements storage.AuthRequests. ErrNotFound if the
// client does not exist.
func (s *Store) CreateAuthRequest(ctx context.Context, r *storage.AuthRequest) error {
	if _, err := s.db.Exec(ctx, insertAuthRequest, authRequestArgs(r)...); err != nil {
		return wrapErr(err, "create auth request %q", r.ID)
	}
	return nil
}

// CreateSessionAuthRequest implements storage.AuthRequests: the session's
// client row and the request are sent as one pgx batch, which PostgreSQL
// runs as one implicit transaction (one Sync): both or neither. A missing
// session fails the first statement's foreign key.
//
// Outside Atomically the transaction commits without waiting for its WAL
// to reach the disk (synchronous_commit off, for this transaction only):
// a crash can lose it, and only it, which fails closed (the code it
// carries is unknown after the restart and its exchange is refused). It
// cannot be lost once it mattered: the code's exchange commits
// synchronously (RedeemAuthCode), and WAL is flushed in order, so that
// commit makes this one durable too, session_clients row (back-channel
// logout) included, before any token is issued. This saves one WAL flush
// (fdatasync) per SSO flow (issue #21).
func (s *Store) CreateSessionAuthRequest(ctx context.Context, r *storage.AuthRequest) error {
	b := &pgx.Batch{}
	if _, inTx := s.db.(pgx.Tx); !inTx {
		b.Queue(asyncCommit)
	}
	b.Queue(`INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		r.SessionID, r.ClientID)
	b.Queue(insertAuthRequest, authRequestArgs(r)...)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return wrapErr(err, "create auth request %q of session %q", r.ID, r.SessionID)
	}
	return nil
}

// asyncCommit, first in a batch (one implicit transaction), lets that
// transaction commit without waiting for its WAL flush.
const asyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

const insertAuthRequest = `INSERT INTO auth_requests (id, client_id, redirect_uri, scopes, state,
	nonce, response_mode, code_challenge, code_challenge_method, prompt, max_age, login_hint,
	hint_subject, created_at, expires_at, user_id, session_id, auth_time, amr, consent_granted,
	denied, code_hash, code_expires_at, ui_locales, acr, id_token_claims, userinfo_claims, dpop_jkt)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
	$20, $21, $22, $23, $24, $25, $26, $27, $28)`

// authRequestArgs are insertAuthRequest's arguments for r.
func authRequestArgs(r *storage.AuthRequest) []any {
	return []any{r.ID, r.ClientID, r.RedirectURI, r.Scopes, r.State,
		r.Nonce, r.ResponseMode, r.CodeChallenge, r.CodeChallengeMethod, r.Prompt, r.MaxAge, r.LoginHint,
		r.HintSubject, r.CreatedAt, r.ExpiresAt, r.UserID, r.SessionID, optTime(r.AuthTime), r.AMR, r.ConsentGranted,
		r.Denied, optText(r.CodeHash), optTime(r.CodeExpiresAt), r.UILocales, r.ACR, r.Claims.IDToken, r.Claims.UserInfo, r.DPoPJKT}
}

// GetAuthRequest implements storage.AuthRequests.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (*storage.AuthRequest, error) {
	r, err := scanAuthRequest(s.db.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get auth request %q", id)
	}
	return r, nil
}

// AuthenticateAuthRequest implements storage.AuthRequests.
func (s *Store) AuthenticateAuthRequest(ctx context.Context, id string, res storage.AuthResult) error {
	tag, err := s.db.Exec(ctx, `UPDATE auth_requests SET user_id = $2, session_id = $3, auth_time = $4, amr = $5
		WHERE id = $1 AND code_hash IS NULL`,
		id, res.UserID, res.SessionID, optTime(res.AuthTime), res.AMR)
	if err != nil {
		return wrapErr(err, "authenticate auth request %q", id)
	}
	if tag.RowsAffected() == 0 {
		return s.notFoundOr(ctx, storage.ErrConflict, authRequestExists, id, "authenticate auth request %q: code already issued", id)
	}
	return nil
}

// SetAuthRequestConsent implements storage.AuthRequests. The latest answer
// wins: granting clears Denied and denying clears ConsentGranted.
func (s *Store) SetAuthRequestConsent(ctx context.Context, id string, granted bool) error {
	tag, err := s.db.Exec(ctx, `UPDATE auth_requests SET consent_granted = $2, denied = NOT $2
		WHERE id = $1 AND code_hash IS NULL`, id, granted)
	if err != nil {
		return wrapErr(err, "set consent of auth request %q", id)
	}
	if tag.RowsAffected() == 0 {
		return s.notFoundOr(ctx, storage.ErrConflict, authRequestExists, id, "set consent of auth request %q: code already issued", id)
	}
	return nil
}

// IssueAuthCode implements storage.AuthRequests. A code hash already used
// by another request is ErrAlreadyExists.
func (s *Store) IssueAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE auth_requests SET code_hash = $2, code_expires_at = $3
		WHERE id = $1 AND code_hash IS NULL`, id, codeHash, expiresAt)
	if err != nil {
		return wrapErr(err, "issue code for auth request %q", id)
	}
	if tag.RowsAffected() == 0 {
		return s.notFoundOr(ctx, storage.ErrConflict, authRequestExists, id, "issue code for auth request %q: code already issued", id)
	}
	return nil
}

// redeemAuthCode consumes a code and, in the same statement, stores the
// first refresh token of its family when the exchange's checks hold
// ($13: a token was asked for). A DELETE … RETURNING of the request; the
// INSERT of the code's tombstone (RFC 6749 §4.1.2) when the code is live;
// the INSERT of the refresh token, whose WHERE is the exchange's checks
// (the same ones op checks in Go, so the two must agree), the request's
// session live for its user included ($15: the last activity an idle
// session needs after, NULL: no idle timeout), since a logout marks the
// session revoked and leaves its pending requests; the request's user
// and session, which the token endpoint would otherwise read in round
// trips of their own. Every part sees the same snapshot and commits
// together, so of concurrent callers exactly one gets the row, and with
// it the only refresh token.
var redeemAuthCode = `WITH consumed AS (
		DELETE FROM auth_requests WHERE code_hash = $1 RETURNING *
	), tombstone AS (
		INSERT INTO auth_code_tombstones (code_hash, request_id, client_id, family_id, consumed_at, expires_at)
		SELECT code_hash, id, client_id, $3, $2, code_expires_at FROM consumed WHERE code_expires_at > $2
	), issued AS (
		INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, session_id, scopes,
			auth_time, amr, created_at, expires_at, family_expires_at, dpop_jkt, id_token_claims, userinfo_claims)
		SELECT $4, $5, $3, r.client_id, r.user_id, r.session_id, r.scopes,
			r.auth_time, r.amr, $6, $7, $8, $9, r.id_token_claims, r.userinfo_claims
		FROM consumed r JOIN users u ON u.id = r.user_id LEFT JOIN sessions s ON s.id = r.session_id
		WHERE $13 AND r.code_expires_at > $2 AND r.client_id = $10 AND r.redirect_uri = $11
			AND r.code_challenge = $12 AND r.dpop_jkt IN ('', $14) AND NOT u.disabled
			AND (r.session_id = '' OR s.user_id = r.user_id AND s.revoked_at IS NULL AND s.expires_at > $2
				AND ($15::timestamptz IS NULL OR s.last_seen_at > $15))
		RETURNING 1
	)
	SELECT c.*, ` + userSelect("u", true) + `,
		COALESCE(s.id, ''), COALESCE(s.user_id, ''), s.expires_at, s.last_seen_at, s.revoked_at,
		EXISTS (SELECT 1 FROM issued)
	FROM (SELECT ` + authRequestColumns + `, code_expires_at > $2, user_id AS join_user_id,
		session_id AS join_session_id FROM consumed) AS c
	LEFT JOIN users u ON u.id = c.join_user_id
	LEFT JOIN sessions s ON s.id = c.join_session_id`

// RedeemAuthCode implements storage.AuthRequests with a single statement
// (redeemAuthCode), so the exchange costs one round trip and one
// synchronous commit. An expired code is deleted as well, without a
// tombstone or a token, and reported as ErrNotFound. The expiry is
// compared in the statement, so Now has the stored times' microsecond
// precision.
//
// When nothing was deleted, a second read looks for the tombstone. It
// runs after the DELETE, which waited for any concurrent winner to
// commit, so a loser of a race always sees the winner's tombstone.
func (s *Store) RedeemAuthCode(ctx context.Context, red *storage.CodeRedemption) (*storage.AuthRequest, bool, error) {
	var (
		live, stored      bool
		userID, sessionID string // the request's, again: the joins' keys
		u                 storage.User
		sess              storage.Session
		addr, attrs       []byte
		rt                storage.RefreshToken
	)
	issue := red.RefreshToken != nil
	if issue {
		rt = *red.RefreshToken
	}
	dest := append([]any{&live, &userID, &sessionID}, userDest(&u, &addr, &attrs)...)
	dest = append(dest, &sess.ID, &sess.UserID, scanOptTime{&sess.ExpiresAt}, scanOptTime{&sess.LastSeenAt},
		scanOptTime{&sess.RevokedAt}, &stored)
	r, err := scanAuthRequest(s.db.QueryRow(ctx, redeemAuthCode, red.CodeHash, red.Now, red.FamilyID,
		rt.ID, rt.TokenHash, rt.CreatedAt, rt.ExpiresAt, rt.FamilyExpiresAt, rt.DPoPJKT,
		red.ClientID, red.RedirectURI, red.CodeChallenge, issue, red.DPoPJKT, idleCutoff(red)), dest...)
	if err == nil {
		err = finishUser(&u, addr, attrs)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		var reused storage.CodeReusedError
		terr := s.db.QueryRow(ctx, `SELECT request_id, client_id, family_id FROM auth_code_tombstones
			WHERE code_hash = $1`, red.CodeHash).Scan(&reused.RequestID, &reused.ClientID, &reused.FamilyID)
		switch {
		case terr == nil:
			return nil, false, fmt.Errorf("postgres: consume auth code: %w", &reused)
		case !errors.Is(terr, pgx.ErrNoRows):
			return nil, false, wrapErr(terr, "consume auth code: read tombstone")
		}
	}
	if err != nil {
		return nil, false, wrapErr(err, "consume auth code")
	}
	if !live {
		return nil, false, wrapErr(pgx.ErrNoRows, "consume auth code: code of request %q expired at %s", r.ID, r.CodeExpiresAt.Format(time.RFC3339Nano))
	}
	r.FamilyID = red.FamilyID
	if u.ID != "" { // "": no such user (any more)
		cv := u.ClaimsView()
		r.User = &cv
	}
	if sess.ID != "" { // "": no such session
		r.Session = &sess
	}
	return r, stored, nil
}

// DeleteAuthRequest implements storage.AuthRequests.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id)
	if err != nil {
		return wrapErr(err, "delete auth request %q", id)
	}
	return affected(tag.RowsAffected(), "delete auth request %q", id)
}
