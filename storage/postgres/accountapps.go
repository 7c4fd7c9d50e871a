package postgres

import (
	"context"
	"time"
)

// ListUserRefreshClients implements storage.RefreshTokens.
func (s *Store) ListUserRefreshClients(ctx context.Context, userID string, now time.Time) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT client_id FROM refresh_tokens
		WHERE user_id = $1 AND revoked_at IS NULL AND rotated_at IS NULL
			AND expires_at > $2 AND family_expires_at > $2
		ORDER BY client_id`, userID, now)
	if err != nil {
		return nil, wrapErr(err, "list refresh clients of user %q", userID)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrapErr(err, "list refresh clients of user %q", userID)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "list refresh clients of user %q", userID)
	}
	return out, nil
}
