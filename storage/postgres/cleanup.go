package postgres

import (
	"context"
	"errors"
	"time"
)

// errLimit is returned for a non-positive batch limit.
var errLimit = errors.New("postgres: cleanup limit must be positive")

// The cleanup statements pick their batch with FOR UPDATE SKIP LOCKED, so
// janitors on several replicas split the work instead of waiting on each
// other's row locks.

// DeleteExpiredAuthRequests implements storage.Cleanup: one statement for
// both the requests and the code tombstones.
func (s *Store) DeleteExpiredAuthRequests(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired auth requests", `WITH requests AS (
			DELETE FROM auth_requests WHERE id IN (
				SELECT id FROM auth_requests WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		), tombstones AS (
			DELETE FROM auth_code_tombstones WHERE code_hash IN (
				SELECT code_hash FROM auth_code_tombstones WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM tombstones)`, now, limit)
}

// DeleteExpiredLoginThrottles implements storage.Cleanup.
func (s *Store) DeleteExpiredLoginThrottles(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteOldRows(ctx, "delete expired login throttles", "login_throttles", "key", "expires_at", "", now, limit)
}

// DeleteExpiredAccessTokenRevocations implements storage.Cleanup.
func (s *Store) DeleteExpiredAccessTokenRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteOldRows(ctx, "delete expired access token revocations", "access_token_revocations", "jti", "expires_at", "", now, limit)
}

// DeleteExpiredGrants implements storage.Cleanup: one statement for the
// four tables (client_assertions has no single-column key: its rows are
// picked by ctid).
func (s *Store) DeleteExpiredGrants(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired grants", `WITH devices AS (
			DELETE FROM device_authorizations WHERE id IN (
				SELECT id FROM device_authorizations WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		), assertions AS (
			DELETE FROM client_assertions WHERE ctid IN (
				SELECT ctid FROM client_assertions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		), pushed AS (
			DELETE FROM pushed_requests WHERE id IN (
				SELECT id FROM pushed_requests WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		), tokens AS (
			DELETE FROM user_tokens WHERE token_hash IN (
				SELECT token_hash FROM user_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM assertions) +
			(SELECT count(*) FROM pushed) + (SELECT count(*) FROM tokens)`, now, limit)
}

// DeleteEndedSessions implements storage.Cleanup; session_clients rows go
// with their session (ON DELETE CASCADE).
func (s *Store) DeleteEndedSessions(ctx context.Context, endedBefore time.Time, limit int) (int, error) {
	return s.deleteOldRows(ctx, "delete ended sessions", "sessions", "id", "ended_at", " ORDER BY ended_at", endedBefore, limit)
}

// DeleteDeadRefreshFamilies implements storage.Cleanup. The batch is up
// to limit families found through two indexes (revocation time, and each
// member's end, least(expires_at, family_expires_at): a family whose every
// member has ended is dead, idle or past its absolute expiry); every token
// of those families is deleted in the same statement. What limit leaves,
// expired rotated members of other families are deleted one by one, so the
// ended-members index stays short: the families' idle check walks only
// rows that cleanup removes.
func (s *Store) DeleteDeadRefreshFamilies(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete dead refresh families", `WITH dead AS (
			(SELECT family_id FROM refresh_tokens WHERE revoked_at < $1 LIMIT $2)
			UNION
			(SELECT h.family_id FROM refresh_tokens h
				WHERE LEAST(h.expires_at, h.family_expires_at) < $1 AND h.rotated_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM refresh_tokens o
					WHERE o.family_id = h.family_id AND LEAST(o.expires_at, o.family_expires_at) >= $1)
				LIMIT $2)
		), batch AS (
			SELECT family_id FROM dead LIMIT $2
		), gone AS (
			DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM batch) RETURNING family_id
		), pruned AS (
			DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens
				WHERE LEAST(expires_at, family_expires_at) < $1 AND rotated_at IS NOT NULL AND revoked_at IS NULL
					AND family_id NOT IN (SELECT family_id FROM batch)
				LIMIT $2 - (SELECT count(*) FROM batch) FOR UPDATE SKIP LOCKED)
			RETURNING 1
		)
		SELECT (SELECT count(DISTINCT family_id) FROM gone) + (SELECT count(*) FROM pruned)`, before, limit)
}

// DeleteFailedLogoutDeliveries implements storage.Cleanup.
func (s *Store) DeleteFailedLogoutDeliveries(ctx context.Context, failedBefore time.Time, limit int) (int, error) {
	return s.deleteOldRows(ctx, "delete failed logout deliveries", "logout_deliveries", "id", "failed_at", "", failedBefore, limit)
}

// DeleteAuditEntries implements storage.Cleanup, oldest first through the
// index on at.
func (s *Store) DeleteAuditEntries(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteOldRows(ctx, "delete old audit entries", "audit_log", "id", "at", " ORDER BY at", before, limit)
}

// deleteOldRows deletes up to limit rows of table whose column col is
// before cutoff (picked by key, in order when order is not empty). The
// names are the constants of this file, never input.
func (s *Store) deleteOldRows(ctx context.Context, what, table, key, col, order string, cutoff time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, what, `WITH gone AS (
			DELETE FROM `+table+` WHERE `+key+` IN (
				SELECT `+key+` FROM `+table+` WHERE `+col+` < $1`+order+` LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1)
		SELECT count(*) FROM gone`, cutoff, limit)
}

// deleteBatch runs a cleanup statement that takes (cut-off, limit) and
// returns the number of rows it deleted.
func (s *Store) deleteBatch(ctx context.Context, what, sql string, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	var n int
	if err := s.db.QueryRow(ctx, sql, cutoff, limit).Scan(&n); err != nil {
		return 0, wrapErr(err, "%s", what)
	}
	return n, nil
}

// DeleteExpiredInitialAccessTokens implements storage.Cleanup: expired
// ones through the index on expires_at, used-up ones by a scan of what
// is a small table (one row per token an operator issued).
func (s *Store) DeleteExpiredInitialAccessTokens(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired initial access tokens", `WITH gone AS (
			DELETE FROM initial_access_tokens WHERE id IN (
				SELECT id FROM initial_access_tokens WHERE expires_at < $1 OR uses_left <= 0
				LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING 1)
		SELECT count(*) FROM gone`, now, limit)
}
