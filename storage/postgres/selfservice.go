package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const userTokenColumns = `token_hash, user_id, purpose, email, stamp, created_at, expires_at`

func scanUserToken(row pgx.Row) (*storage.UserToken, error) {
	var t storage.UserToken
	if err := row.Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &t.Stamp, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateUserToken implements storage.UserTokens in one transaction.
func (s *Store) CreateUserToken(ctx context.Context, t *storage.UserToken) error {
	const op = "create user token"
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return wrapErr(err, op)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, t.UserID, t.Purpose); err != nil {
		return wrapErr(err, op)
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.UserID, t.Purpose, t.Email, t.Stamp, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return wrapErr(err, op)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr(err, op)
	}
	return nil
}

// GetUserToken implements storage.UserTokens.
func (s *Store) GetUserToken(ctx context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	t, err := scanUserToken(s.db.QueryRow(ctx, `SELECT `+userTokenColumns+` FROM user_tokens
		WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3`, hash, purpose, now))
	if err != nil {
		return nil, wrapErr(err, "get user token")
	}
	return t, nil
}

// ConsumeUserToken implements storage.UserTokens: one DELETE … RETURNING,
// so of concurrent callers exactly one gets the row.
func (s *Store) ConsumeUserToken(ctx context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	t, err := scanUserToken(s.db.QueryRow(ctx, `DELETE FROM user_tokens WHERE token_hash = $1 AND purpose = $2
		RETURNING `+userTokenColumns, hash, purpose))
	if err != nil {
		return nil, wrapErr(err, "consume user token")
	}
	if !now.Before(t.ExpiresAt) {
		return nil, wrapErr(pgx.ErrNoRows, "consume user token: expired")
	}
	return t, nil
}

// DeleteUserTokens implements storage.UserTokens.
func (s *Store) DeleteUserTokens(ctx context.Context, userID, purpose string) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose)
	if err != nil {
		return 0, wrapErr(err, "delete user tokens")
	}
	return int(tag.RowsAffected()), nil
}
