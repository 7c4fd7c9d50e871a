package postgres

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// ListUserConsents implements storage.Consents.
func (s *Store) ListUserConsents(ctx context.Context, userID string) ([]*storage.Consent, error) {
	rows, err := s.db.Query(ctx, `SELECT client_id, scopes, granted_at FROM consents
		WHERE user_id = $1 ORDER BY client_id`, userID)
	if err != nil {
		return nil, wrapErr(err, "list consents of user %q", userID)
	}
	defer rows.Close()
	var out []*storage.Consent
	for rows.Next() {
		c := &storage.Consent{UserID: userID}
		if err := rows.Scan(&c.ClientID, &c.Scopes, &c.GrantedAt); err != nil {
			return nil, wrapErr(err, "list consents of user %q", userID)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "list consents of user %q", userID)
	}
	return out, nil
}

// RevokeUserClientRefreshTokens implements storage.RefreshTokens. Rows
// are locked in ID order first, as RevokeUserRefreshTokens does.
func (s *Store) RevokeUserClientRefreshTokens(ctx context.Context, userID, clientID string, at time.Time) error {
	return retryConflict(func() error {
		if _, err := s.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3
			WHERE id IN (SELECT id FROM refresh_tokens WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL
				ORDER BY id FOR UPDATE)`, userID, clientID, at); err != nil {
			return wrapErr(err, "revoke refresh tokens of user %q for client %q", userID, clientID)
		}
		return nil
	})
}
