package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// RevokeAccessToken implements storage.AccessTokens. A second revocation
// keeps the later expiry.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO access_token_revocations (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(access_token_revocations.expires_at, EXCLUDED.expires_at)`,
		jti, expiresAt); err != nil {
		return wrapErr(err, "revoke access token")
	}
	return nil
}

// IsAccessTokenRevoked implements storage.AccessTokens.
func (s *Store) IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM access_token_revocations WHERE jti = $1)`,
		jti).Scan(&revoked); err != nil {
		return false, wrapErr(err, "check access token revocation")
	}
	return revoked, nil
}

// GetAccessTokenStatus implements storage.AccessTokens. The lookups it
// needs are sent as one pgx batch: one network round trip.
func (s *Store) GetAccessTokenStatus(ctx context.Context, q storage.AccessTokenQuery) (*storage.AccessTokenStatus, error) {
	var st storage.AccessTokenStatus
	b := &pgx.Batch{}
	if q.JTI != "" {
		b.Queue(`SELECT EXISTS (SELECT 1 FROM access_token_revocations WHERE jti = $1)`, q.JTI).
			QueryRow(func(row pgx.Row) error { return row.Scan(&st.Revoked) })
	}
	if q.SessionID != "" {
		b.Queue(`SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, q.SessionID).
			QueryRow(func(row pgx.Row) (err error) {
				st.Session, err = scanSession(row)
				return absentIsNil(err)
			})
	}
	if q.FamilyID != "" {
		b.Queue(`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL)
			OR NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1)`, q.FamilyID).
			QueryRow(func(row pgx.Row) error { return row.Scan(&st.FamilyRevoked) })
	}
	if q.UserID != "" {
		b.Queue(`SELECT `+userColumns+` FROM users WHERE id = $1`, q.UserID).
			QueryRow(func(row pgx.Row) (err error) {
				st.User, err = scanUser(row)
				return absentIsNil(err)
			})
	}
	if b.Len() > 0 {
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, wrapErr(err, "get access token status")
		}
	}
	return &st, nil
}

// absentIsNil turns "no row" into success: the caller's pointer stays nil.
func absentIsNil(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}
