package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// ListUserConsents implements storage.Consents.
func (s *Store) ListUserConsents(_ context.Context, userID string) ([]*storage.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.Consent
	for k, c := range s.consents {
		if k.userID == userID {
			out = append(out, cloneConsent(c))
		}
	}
	slices.SortFunc(out, func(a, b *storage.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// RevokeUserClientRefreshTokens implements storage.RefreshTokens.
func (s *Store) RevokeUserClientRefreshTokens(_ context.Context, userID, clientID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		if t.UserID == userID && t.ClientID == clientID && t.RevokedAt.IsZero() {
			s.bump(t.UserID)
			t.RevokedAt = ts(at)
		}
	}
	return nil
}
