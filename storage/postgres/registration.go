package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// Initial access tokens for dynamic client registration (issue 19;
// migration 00024).

const initialColumns = `id, token_hash, uses_left, created_at, expires_at`

func scanInitial(row pgx.Row, op string) (*storage.InitialAccessToken, error) {
	var t storage.InitialAccessToken
	if err := row.Scan(&t.ID, &t.TokenHash, &t.UsesLeft, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return nil, wrapErr(err, "%s", op)
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return &t, nil
}

// CreateInitialAccessToken implements storage.InitialAccessTokens.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t *storage.InitialAccessToken) error {
	_, err := s.db.Exec(ctx, `INSERT INTO initial_access_tokens (`+initialColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.TokenHash, t.UsesLeft, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return wrapErr(err, "create initial access token")
	}
	return nil
}

// GetInitialAccessToken implements storage.InitialAccessTokens.
func (s *Store) GetInitialAccessToken(ctx context.Context, hash string, now time.Time) (*storage.InitialAccessToken, error) {
	return scanInitial(s.db.QueryRow(ctx, `SELECT `+initialColumns+` FROM initial_access_tokens
		WHERE token_hash = $1 AND uses_left > 0 AND expires_at > $2`, hash, now), "get initial access token")
}

// UseInitialAccessToken implements storage.InitialAccessTokens: one
// UPDATE … RETURNING whose WHERE clause requires a use left, so of
// concurrent uses of the last one exactly one matches a row.
func (s *Store) UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (*storage.InitialAccessToken, error) {
	return scanInitial(s.db.QueryRow(ctx, `UPDATE initial_access_tokens SET uses_left = uses_left - 1
		WHERE token_hash = $1 AND uses_left > 0 AND expires_at > $2
		RETURNING `+initialColumns, hash, now), "use initial access token")
}
