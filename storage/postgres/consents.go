package postgres

import (
	"context"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// GetConsent implements storage.Consents.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (*storage.Consent, error) {
	c := storage.Consent{UserID: userID, ClientID: clientID}
	err := s.db.QueryRow(ctx, `SELECT scopes, granted_at FROM consents WHERE user_id = $1 AND client_id = $2`,
		userID, clientID).Scan(&c.Scopes, &c.GrantedAt)
	if err != nil {
		return nil, wrapErr(err, "get consent of user %q for client %q", userID, clientID)
	}
	return &c, nil
}

// SaveConsent implements storage.Consents with one upsert, so concurrent
// saves for the same user and client all end up in the union. Each scope
// is stored once: those already consented keep their place, new ones are
// appended in the order given. GrantedAt becomes c.GrantedAt. ErrNotFound
// if the user or client does not exist.
func (s *Store) SaveConsent(ctx context.Context, c *storage.Consent) error {
	_, err := s.db.Exec(ctx, `INSERT INTO consents AS old (user_id, client_id, scopes, granted_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET
			granted_at = EXCLUDED.granted_at,
			scopes = COALESCE(old.scopes, '{}') || ARRAY(
				SELECT n.scope FROM unnest(EXCLUDED.scopes) WITH ORDINALITY AS n(scope, i)
				WHERE NOT (n.scope = ANY (COALESCE(old.scopes, '{}')))
				GROUP BY n.scope ORDER BY min(n.i))`,
		c.UserID, c.ClientID, unique(c.Scopes), c.GrantedAt)
	if err != nil {
		return wrapErr(err, "save consent of user %q for client %q", c.UserID, c.ClientID)
	}
	return nil
}

// DeleteConsent implements storage.Consents.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err != nil {
		return wrapErr(err, "delete consent of user %q for client %q", userID, clientID)
	}
	return affected(tag.RowsAffected(), "delete consent of user %q for client %q", userID, clientID)
}

// unique returns s without repeated values, in first-seen order; nil stays
// nil.
func unique(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
