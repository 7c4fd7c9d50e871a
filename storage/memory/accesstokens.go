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
	s.epoch++ // storage.AccessTokens.LivenessEpoch
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
		return &st, nil // as PostgreSQL: nothing asked, no epoch
	}
	st.Epoch = s.epoch
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

// LivenessEpoch implements storage.AccessTokens.
func (s *Store) LivenessEpoch(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, nil
}
