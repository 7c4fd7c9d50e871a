package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const refreshTokenColumns = `id, token_hash, family_id, client_id, user_id, session_id, scopes,
	auth_time, amr, created_at, expires_at, family_expires_at, rotated_at, revoked_at, reuses, dpop_jkt,
	id_token_claims, userinfo_claims`

func scanRefreshToken(row pgx.Row) (*storage.RefreshToken, error) {
	var t storage.RefreshToken
	if err := row.Scan(refreshTokenDest(&t)...); err != nil {
		return nil, err
	}
	return &t, nil
}

// refreshTokenDest returns the scan destinations of refreshTokenColumns.
func refreshTokenDest(t *storage.RefreshToken) []any {
	return []any{&t.ID, &t.TokenHash, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, &t.Scopes,
		&t.AuthTime, &t.AMR, &t.CreatedAt, &t.ExpiresAt, &t.FamilyExpiresAt,
		scanOptTime{&t.RotatedAt}, scanOptTime{&t.RevokedAt}, &t.Reuses, &t.DPoPJKT, &t.Claims.IDToken, &t.Claims.UserInfo}
}

const insertRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

func refreshTokenArgs(t *storage.RefreshToken) []any {
	return []any{t.ID, t.TokenHash, t.FamilyID, t.ClientID, t.UserID, t.SessionID, t.Scopes,
		t.AuthTime, t.AMR, t.CreatedAt, t.ExpiresAt, t.FamilyExpiresAt,
		optTime(t.RotatedAt), optTime(t.RevokedAt), t.Reuses, t.DPoPJKT, t.Claims.IDToken, t.Claims.UserInfo}
}

// CreateRefreshToken implements storage.RefreshTokens. ErrNotFound if the
// client or user does not exist.
func (s *Store) CreateRefreshToken(ctx context.Context, t *storage.RefreshToken) error {
	if _, err := s.db.Exec(ctx, insertRefreshToken, refreshTokenArgs(t)...); err != nil {
		return wrapErr(err, "create refresh token %q", t.ID)
	}
	return nil
}

// GetRefreshToken implements storage.RefreshTokens.
func (s *Store) GetRefreshToken(ctx context.Context, tokenHash string) (*storage.RefreshToken, error) {
	t, err := scanRefreshToken(s.db.QueryRow(ctx, `SELECT `+refreshTokenColumns+` FROM refresh_tokens
		WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, wrapErr(err, "get refresh token")
	}
	return t, nil
}

// GetRefreshGrant implements storage.RefreshTokens: three lookups keyed
// on the token hash, sent as one pgx batch (one network round trip).
func (s *Store) GetRefreshGrant(ctx context.Context, tokenHash string) (*storage.RefreshGrant, error) {
	var g storage.RefreshGrant
	b := &pgx.Batch{}
	b.Queue(`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE token_hash = $1`, tokenHash).
		QueryRow(func(row pgx.Row) (err error) {
			g.Token, err = scanRefreshToken(row)
			return err
		})
	b.Queue(selectUser+`
		WHERE u.id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1)`, tokenHash).
		QueryRow(func(row pgx.Row) (err error) {
			g.User, err = scanUser(row)
			return absentIsNil(err)
		})
	b.Queue(`SELECT `+sessionColumns+` FROM sessions
		WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)`, tokenHash).
		QueryRow(func(row pgx.Row) (err error) {
			g.Session, err = scanSession(row)
			return absentIsNil(err)
		})
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr(err, "get refresh grant")
	}
	return &g, nil
}

// The rotation's statement parts, shared by RotateRefreshToken and
// RotateRefreshGrant. rotateOld marks the presented token t ($1) rotated
// at $2, or counts one more reuse inside the grace window ($3 on, rotated
// after $4, fewer than $5 reuses), when it is live and its family has no
// revoked member; a caller may add conditions to its WHERE.
// rotatedFamily is what the successor takes from it, and insertSuccessor
// inserts the successor ($6 ID, $7 hash, $8 creation, $9 expiry) from the
// CTE old and returns it.
const (
	rotateOld = `UPDATE refresh_tokens t SET rotated_at = COALESCE(t.rotated_at, $2),
				reuses = t.reuses + CASE WHEN t.rotated_at IS NULL THEN 0 ELSE 1 END
			WHERE t.token_hash = $1 AND t.revoked_at IS NULL
				AND t.expires_at > $2 AND t.family_expires_at > $2
				AND (t.rotated_at IS NULL OR ($3 AND t.rotated_at > $4 AND t.reuses < $5))
				AND NOT EXISTS (SELECT 1 FROM refresh_tokens f
					WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)`
	rotatedFamily = `t.family_id, t.client_id, t.user_id, t.session_id, t.scopes, t.auth_time, t.amr,
				t.family_expires_at, t.dpop_jkt, t.id_token_claims, t.userinfo_claims`
	insertSuccessor = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
			SELECT $6, $7, family_id, client_id, user_id, session_id, scopes, auth_time, amr, $8, $9, family_expires_at,
				NULL, NULL, 0, dpop_jkt, id_token_claims, userinfo_claims
			FROM old RETURNING ` + refreshTokenColumns
	// sessionLive is storage.Session.Active of t's session at $2, with
	// $14 the last activity an idle session needs after (NULL: no idle
	// timeout).
	sessionLive = `EXISTS (SELECT 1 FROM sessions s
					WHERE s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > $2
						AND ($14::timestamptz IS NULL OR s.last_seen_at > $14))`
)

// RotateRefreshToken implements storage.RefreshTokens in one transaction.
//
// A conditional UPDATE marks the old token rotated only if it is live at
// now (or, with a grace window, counts one more accepted reuse);
// concurrent rotations queue on the row lock and, under READ COMMITTED,
// re-check the condition against the winner's committed row, so exactly
// one succeeds (1 + MaxReuses with grace). A family with a revoked member
// is revoked as a whole: a revocation that raced a rotation and missed the
// successor still stops it. When no row matched, the token is examined:
// revoked, expired or unknown is ErrNotFound (revocation and expiry are
// checked before rotation); a live token that was already rotated is
// reuse, and its whole family is revoked and committed before
// ErrTokenReused is returned.
//
// Two replays of one family can deadlock while revoking it: a replay whose
// UPDATE waited for the winner keeps the presented row locked, and takes
// the family's other rows in ID order after it. PostgreSQL aborts one of
// them; the victim's transaction is retried from the start (see
// retryConflict), and then finds the family revoked.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace) (*storage.RefreshToken, error) {
	var t *storage.RefreshToken
	err := retryConflict(func() (err error) {
		t, err = s.rotateOnce(ctx, oldHash, next, now, grace)
		return err
	})
	return t, err
}

// rotateRefreshGrant is RotateRefreshGrant's statement, built once (the
// user's select list is assembled at start-up, not per rotation).
var rotateRefreshGrant = `WITH old AS (` + rotateOld + `
			AND t.client_id = $10 AND (t.dpop_jkt = '' OR t.dpop_jkt = $11)
			AND COALESCE($12::text[], '{}') <@ COALESCE(t.scopes, '{}')
			AND EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND NOT u.disabled
				AND (cardinality(COALESCE($13::text[], '{}')) = 0 OR EXISTS (SELECT 1
					FROM group_members gm JOIN groups g ON g.id = gm.group_id
					WHERE gm.user_id = u.id AND g.name = ANY ($13::text[]))))
			AND ('offline_access' = ANY (COALESCE(t.scopes, '{}')) OR ` + sessionLive + `)
		RETURNING ` + rotatedFamily + `, t.reuses > 0 AS grace_reuse, ` + sessionLive + ` AS session_live
	), ins AS (` + insertSuccessor + `)
	SELECT ins.*, old.grace_reuse, old.session_live, ` + userSelect("u", true) + `
	FROM ins CROSS JOIN old JOIN users u ON u.id = old.user_id`

// RotateRefreshGrant implements storage.RefreshTokens in one statement:
// the rotation of rotateOnce, whose UPDATE also requires cond (client,
// DPoP key, scopes, an enabled user in an allowed group, a live session
// unless offline_access), followed by a read of the user. Nothing is
// examined or revoked when no row matched: ErrNotFound. The session check
// is storage.Session.Active in SQL; now and now minus the idle timeout
// are compared with microsecond columns as the Go comparisons compare
// them with the same values read back.
func (s *Store) RotateRefreshGrant(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace, cond storage.RefreshConditions) (*storage.RotatedGrant, error) {
	var idleCut *time.Time
	if cond.SessionIdle > 0 {
		cut := now.Add(-cond.SessionIdle)
		idleCut = &cut
	}
	g := storage.RotatedGrant{Token: &storage.RefreshToken{}, User: &storage.User{}}
	var addr, attrs []byte
	dest := append(append(refreshTokenDest(g.Token), &g.GraceReuse, &g.SessionLive), userDest(g.User, &addr, &attrs)...)
	err := retryConflict(func() error {
		return s.db.QueryRow(ctx, rotateRefreshGrant,
			oldHash, now, grace.On(), now.Add(-grace.Window), grace.MaxReuses,
			next.ID, next.TokenHash, next.CreatedAt, next.ExpiresAt,
			cond.ClientID, cond.DPoPJKT, cond.Scopes, cond.AllowedGroups, idleCut).Scan(dest...)
	})
	if err == nil {
		err = finishUser(g.User, addr, attrs)
	}
	if err != nil {
		return nil, wrapErr(err, "rotate refresh grant")
	}
	return &g, nil
}

// retryConflict runs fn, a whole transaction or statement, again when
// PostgreSQL aborted it as a deadlock victim or serialization failure
// (storage.ErrConflict), at most three times in all. Revocations of
// refresh tokens lock rows of the same families in different orders (a
// replay holds the presented row first), so they can deadlock; running the
// victim again is safe because its work was rolled back.
func retryConflict(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !errors.Is(err, storage.ErrConflict) {
			return err
		}
	}
	return err
}

// rotateOnce is one attempt of RotateRefreshToken. The common case, a
// live token rotated, is one statement and so one round trip: the UPDATE
// that marks the presented token rotated feeds the INSERT of its
// successor (a data-modifying CTE, atomic as a single statement). Only
// when no row matched does a transaction examine the token.
func (s *Store) rotateOnce(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace) (*storage.RefreshToken, error) {
	const op = "rotate refresh token"
	// The successor takes the family's fields from the rotated row and its
	// own ID, hash, creation and expiry from next. The row is returned as
	// stored (UTC, microseconds), sharing nothing with next.
	stored, err := scanRefreshToken(s.db.QueryRow(ctx, `WITH old AS (`+rotateOld+`
			RETURNING `+rotatedFamily+`)
		`+insertSuccessor,
		oldHash, now, grace.On(), now.Add(-grace.Window), grace.MaxReuses,
		next.ID, next.TokenHash, next.CreatedAt, next.ExpiresAt))
	switch {
	case err == nil:
		return stored, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, wrapErr(err, "%s: insert successor %q", op, next.ID)
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, wrapErr(err, op)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit

	var familyID string
	var rotated, live bool
	err = tx.QueryRow(ctx, `SELECT family_id, rotated_at IS NOT NULL,
			revoked_at IS NULL AND expires_at > $2 AND family_expires_at > $2
			AND NOT EXISTS (SELECT 1 FROM refresh_tokens f
				WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)
		FROM refresh_tokens t WHERE token_hash = $1`, oldHash, now).Scan(&familyID, &rotated, &live)
	if err != nil {
		return nil, wrapErr(err, op)
	}
	if !live || !rotated {
		return nil, wrapErr(pgx.ErrNoRows, "%s: token revoked or expired", op)
	}
	if _, err := tx.Exec(ctx, revokeFamily, familyID, now); err != nil {
		return nil, wrapErr(err, "%s: revoke family %q", op, familyID)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrapErr(err, "%s: revoke family %q", op, familyID)
	}
	return nil, fmt.Errorf("postgres: %s: family %q revoked: %w", op, familyID, storage.ErrTokenReused)
}

// revokeFamily revokes the live members of family $1 at $2. It locks the
// rows in ID order first, so concurrent revocations of one family (two
// replays at once) queue instead of deadlocking.
const revokeFamily = `UPDATE refresh_tokens SET revoked_at = $2
	WHERE id IN (SELECT id FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL
		ORDER BY id FOR UPDATE)`

// RevokeRefreshFamily implements storage.RefreshTokens. Tokens already
// revoked keep their first revocation time.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	return retryConflict(func() error {
		if _, err := s.db.Exec(ctx, revokeFamily, familyID, at); err != nil {
			return wrapErr(err, "revoke refresh family %q", familyID)
		}
		return nil
	})
}

// RevokeSessionRefreshTokens implements storage.RefreshTokens. It revokes
// every token of the session not revoked yet (rotated ones included, which
// changes nothing for them but their RevokedAt), sparing tokens with the
// offline_access scope when keepOffline is set.
func (s *Store) RevokeSessionRefreshTokens(ctx context.Context, sessionID string, keepOffline bool, at time.Time) error {
	return retryConflict(func() error {
		if _, err := s.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3
			WHERE session_id = $1 AND revoked_at IS NULL
				AND NOT ($2 AND 'offline_access' = ANY (COALESCE(scopes, '{}')))`,
			sessionID, keepOffline, at); err != nil {
			return wrapErr(err, "revoke refresh tokens of session %q", sessionID)
		}
		return nil
	})
}

// RevokeUserRefreshTokens implements storage.RefreshTokens. Rows are
// locked in ID order first, as revokeFamily does; a deadlock with a replay
// that holds a row out of order is retried (retryConflict).
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string, at time.Time) error {
	return retryConflict(func() error {
		if _, err := s.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2
			WHERE id IN (SELECT id FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL
				ORDER BY id FOR UPDATE)`, userID, at); err != nil {
			return wrapErr(err, "revoke refresh tokens of user %q", userID)
		}
		return nil
	})
}
