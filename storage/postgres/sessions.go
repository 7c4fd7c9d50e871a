package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const sessionColumns = `id, token_hash, user_id, auth_time, amr, created_at, last_seen_at, expires_at, revoked_at, ended_at, address, user_agent`

// sessionDest returns the scan destinations of sessionColumns.
func sessionDest(ss *storage.Session) []any {
	return []any{&ss.ID, &ss.TokenHash, &ss.UserID, &ss.AuthTime, &ss.AMR, &ss.CreatedAt,
		&ss.LastSeenAt, &ss.ExpiresAt, scanOptTime{&ss.RevokedAt}, scanOptTime{&ss.EndedAt}, &ss.Address, &ss.UserAgent}
}

func scanSession(row pgx.Row) (*storage.Session, error) {
	var ss storage.Session
	if err := row.Scan(sessionDest(&ss)...); err != nil {
		return nil, err
	}
	return &ss, nil
}

// CreateSession implements storage.Sessions. ErrNotFound if the user does
// not exist.
func (s *Store) CreateSession(ctx context.Context, ss *storage.Session) error {
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		ss.ID, ss.TokenHash, ss.UserID, ss.AuthTime, ss.AMR, ss.CreatedAt,
		ss.LastSeenAt, ss.ExpiresAt, optTime(ss.RevokedAt), optTime(ss.EndedAt), ss.Address, ss.UserAgent)
	if err != nil {
		return wrapErr(err, "create session %q", ss.ID)
	}
	return nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (*storage.Session, error) {
	ss, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get session %q", id)
	}
	return ss, nil
}

// GetSessionByTokenHash implements storage.Sessions.
func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (*storage.Session, error) {
	ss, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, wrapErr(err, "get session by token hash")
	}
	return ss, nil
}

// GetSessionWithUserActive implements storage.Sessions in one statement:
// the session by its token hash and, from the same snapshot, whether its
// user is there and enabled. Only that column of the user is read: the
// whole user (two JSON columns and the groups' subquery) cost every SSO
// answer at /authorize ~17 µs more of PostgreSQL's CPU (52–57 against
// 35–39 µs per read) and pgx's decoding, for nothing (BENCHMARKS.md,
// seventh pass).
func (s *Store) GetSessionWithUserActive(ctx context.Context, tokenHash string) (*storage.Session, bool, error) {
	var (
		ss     storage.Session
		active bool
	)
	err := s.db.QueryRow(ctx, selectSessionWithUserActive, tokenHash).Scan(append(sessionDest(&ss), &active)...)
	if err != nil {
		return nil, false, wrapErr(err, "get session with user")
	}
	return &ss, active, nil
}

// selectSessionWithUserActive reads a session by its token hash, and
// whether its user exists and is not disabled.
var selectSessionWithUserActive = `SELECT s.` + strings.ReplaceAll(sessionColumns, ", ", ", s.") + `,
		EXISTS (SELECT FROM users u WHERE u.id = s.user_id AND NOT u.disabled)
	FROM sessions s WHERE s.token_hash = $1`

// ListUserSessions implements storage.Sessions: sessions not revoked
// (expired or not), newest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*storage.Session, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL
		ORDER BY created_at DESC, id COLLATE "C"`, userID)
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, wrapErr(err, "list sessions of user %q", userID)
	}
	return sessions, nil
}

// TouchSession implements storage.Sessions.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, lastSeen)
	if err != nil {
		return wrapErr(err, "touch session %q", id)
	}
	return affected(tag.RowsAffected(), "touch session %q", id)
}

// RenewSession implements storage.Sessions.
func (s *Store) RenewSession(ctx context.Context, id, newTokenHash string, authTime time.Time, amr []string) error {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET token_hash = $2, auth_time = $3, last_seen_at = $3, amr = $4
		WHERE id = $1 AND revoked_at IS NULL`, id, newTokenHash, authTime, amr)
	if err != nil {
		return wrapErr(err, "renew session %q", id)
	}
	return affected(tag.RowsAffected(), "renew session %q", id)
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at)
	if err != nil {
		return wrapErr(err, "revoke session %q", id)
	}
	return affected(tag.RowsAffected(), "revoke session %q", id)
}

// RevokeUserSessions implements storage.Sessions: it revokes the user's
// sessions that are not revoked yet (expired ones included) and returns
// their IDs in byte order.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	rows, _ := s.db.Query(ctx, `UPDATE sessions SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`, userID, at)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr(err, "revoke sessions of user %q", userID)
	}
	slices.Sort(ids)
	return ids, nil
}

// AddSessionClient implements storage.Sessions. The foreign key to
// sessions turns an absent session into ErrNotFound.
func (s *Store) AddSessionClient(ctx context.Context, sessionID, clientID string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, sessionID, clientID)
	if err != nil {
		return wrapErr(err, "add client %q to session %q", clientID, sessionID)
	}
	return nil
}

// ListSessionClients implements storage.Sessions.
func (s *Store) ListSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	rows, _ := s.db.Query(ctx, `SELECT client_id FROM session_clients WHERE session_id = $1
		ORDER BY client_id COLLATE "C"`, sessionID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr(err, "list clients of session %q", sessionID)
	}
	return ids, nil
}

// EndSession implements storage.Sessions in one transaction: the
// conditional UPDATE lets exactly one of several concurrent callers (two
// replicas sweeping at once) mark the session ended, and only that caller
// enqueues the deliveries.
func (s *Store) EndSession(ctx context.Context, id string, at time.Time) (int, error) {
	const op = "end session %q"
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, wrapErr(err, op, id)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	var userID string
	err = tx.QueryRow(ctx, `UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL
		RETURNING user_id`, id, at).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, id).Scan(&exists); err != nil {
			return 0, wrapErr(err, op, id)
		}
		if !exists {
			return 0, wrapErr(pgx.ErrNoRows, op, id)
		}
		return 0, nil
	}
	if err != nil {
		return 0, wrapErr(err, op, id)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO logout_deliveries (id, client_id, subject, session_id, created_at,
			next_attempt_at, attempts, last_error)
		SELECT replace(gen_random_uuid()::text, '-', ''), c.id, $2, $1, $3, $3, 0, ''
		FROM session_clients sc JOIN clients c ON c.id = sc.client_id
		WHERE sc.session_id = $1 AND c.backchannel_logout_uri <> '' AND NOT c.disabled`, id, userID, at)
	if err != nil {
		return 0, wrapErr(err, op+": enqueue logout deliveries", id)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, wrapErr(err, op, id)
	}
	return int(tag.RowsAffected()), nil
}

// ListSessionsToEnd implements storage.Sessions.
func (s *Store) ListSessionsToEnd(ctx context.Context, now time.Time, idle time.Duration, limit int) ([]*storage.Session, error) {
	idleBefore := optTime(time.Time{})
	if idle > 0 {
		idleBefore = optTime(now.Add(-idle))
	}
	rows, _ := s.db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE ended_at IS NULL
			AND (revoked_at IS NOT NULL OR expires_at <= $1 OR last_seen_at <= $2)
		ORDER BY created_at, id COLLATE "C" LIMIT $3`, now, idleBefore, limit)
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, wrapErr(err, "list sessions to end")
	}
	return sessions, nil
}
