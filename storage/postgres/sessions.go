package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const sessionColumns = `id, token_hash, user_id, auth_time, amr, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(row pgx.Row) (*storage.Session, error) {
	var ss storage.Session
	err := row.Scan(&ss.ID, &ss.TokenHash, &ss.UserID, &ss.AuthTime, &ss.AMR, &ss.CreatedAt,
		&ss.LastSeenAt, &ss.ExpiresAt, scanOptTime{&ss.RevokedAt})
	if err != nil {
		return nil, err
	}
	return &ss, nil
}

// CreateSession implements storage.Sessions. ErrNotFound if the user does
// not exist.
func (s *Store) CreateSession(ctx context.Context, ss *storage.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ss.ID, ss.TokenHash, ss.UserID, ss.AuthTime, ss.AMR, ss.CreatedAt,
		ss.LastSeenAt, ss.ExpiresAt, optTime(ss.RevokedAt))
	if err != nil {
		return wrapErr(err, "create session %q", ss.ID)
	}
	return nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (*storage.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get session %q", id)
	}
	return ss, nil
}

// GetSessionByTokenHash implements storage.Sessions.
func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (*storage.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return nil, wrapErr(err, "get session by token hash")
	}
	return ss, nil
}

// ListUserSessions implements storage.Sessions: sessions not revoked
// (expired or not), newest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*storage.Session, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
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
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, lastSeen)
	if err != nil {
		return wrapErr(err, "touch session %q", id)
	}
	return affected(tag.RowsAffected(), "touch session %q", id)
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at)
	if err != nil {
		return wrapErr(err, "revoke session %q", id)
	}
	return affected(tag.RowsAffected(), "revoke session %q", id)
}

// RevokeUserSessions implements storage.Sessions: it revokes the user's
// sessions that are not revoked yet (expired ones included) and returns
// their IDs in byte order.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `UPDATE sessions SET revoked_at = $2
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
	_, err := s.pool.Exec(ctx, `INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, sessionID, clientID)
	if err != nil {
		return wrapErr(err, "add client %q to session %q", clientID, sessionID)
	}
	return nil
}

// ListSessionClients implements storage.Sessions.
func (s *Store) ListSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT client_id FROM session_clients WHERE session_id = $1
		ORDER BY client_id COLLATE "C"`, sessionID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr(err, "list clients of session %q", sessionID)
	}
	return ids, nil
}
