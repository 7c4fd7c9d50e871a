package memory

import (
	"context"
	"slices"
	"time"
)

// ListUserRefreshClients implements storage.RefreshTokens.
func (s *Store) ListUserRefreshClients(_ context.Context, userID string, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.refresh {
		if t.UserID == userID && t.RevokedAt.IsZero() && t.RotatedAt.IsZero() &&
			now.Before(t.ExpiresAt) && now.Before(t.FamilyExpiresAt) && !slices.Contains(out, t.ClientID) {
			out = append(out, t.ClientID)
		}
	}
	slices.Sort(out)
	return out, nil
}
