package memory

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// RevokeAccessToken implements storage.AccessTokens. A second revocation
// keeps the later expiry.
func (s *Store) RevokeAccessToken(_ context.Context, jti string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.deniedJTIs[jti]; !ok || old.Before(ts(expiresAt)) {
		s.deniedJTIs[jti] = ts(expiresAt)
	}
	return nil
}

// IsAccessTokenRevoked implements storage.AccessTokens.
func (s *Store) IsAccessTokenRevoked(_ context.Context, jti string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.deniedJTIs[jti]
	return ok, nil
}

// GetAccessTokenStatus implements storage.AccessTokens.
func (s *Store) GetAccessTokenStatus(_ context.Context, q storage.AccessTokenQuery) (*storage.AccessTokenStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st storage.AccessTokenStatus
	if q == (storage.AccessTokenQuery{}) {
		return &st, nil // as PostgreSQL: nothing asked, no version
	}
	if q.UserID != "" {
		st.Version = s.versions[q.UserID]
	}
	if q.JTI != "" {
		_, st.Revoked = s.deniedJTIs[q.JTI]
	}
	if ss, ok := s.sessions[q.SessionID]; ok && q.SessionID != "" {
		v := ss.LivenessView()
		st.Session = &v
	}
	if q.FamilyID != "" {
		st.FamilyRevoked = s.familyRevoked(q.FamilyID)
	}
	if u, ok := s.users[q.UserID]; ok && q.UserID != "" {
		v := s.userOut(u).ClaimsView()
		st.User = &v
	}
	return &st, nil
}

// LivenessVersion implements storage.AccessTokens.
func (s *Store) LivenessVersion(_ context.Context, jti, userID string) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, revoked := s.deniedJTIs[jti]
	return s.versions[userID], revoked && jti != "", nil
}

// bump increments the liveness version of each user (as the triggers of
// migration 00028 do). The caller holds s.mu.
func (s *Store) bump(userIDs ...string) {
	for _, id := range userIDs {
		s.versions[id]++
	}
}

// bumpLiveToken bumps the user of a refresh token that is deleted while
// an unrevoked head (not rotated): its family may be left empty, so
// revoked. A rotated member's deletion leaves its family's head, so it
// changes nothing a token is checked against. The caller holds s.mu.
func (s *Store) bumpLiveToken(t *storage.RefreshToken) {
	if t.RevokedAt.IsZero() && t.RotatedAt.IsZero() {
		s.bump(t.UserID)
	}
}
