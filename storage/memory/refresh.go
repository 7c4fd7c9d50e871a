package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// CreateRefreshToken implements storage.RefreshTokens. ErrNotFound if the
// client or user does not exist; the session is not checked, because
// offline tokens outlive it.
func (s *Store) CreateRefreshToken(_ context.Context, t *storage.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkNewRefresh(t); err != nil {
		return err
	}
	if err := cmp.Or(s.needClient(t.ClientID), s.needUser(t.UserID)); err != nil {
		return err
	}
	s.insertRefresh(cloneRefresh(t))
	return nil
}

// checkNewRefresh returns ErrAlreadyExists if t's ID or hash is taken. The
// caller holds s.mu.
func (s *Store) checkNewRefresh(t *storage.RefreshToken) error {
	if _, ok := s.refreshIDs[t.ID]; ok {
		return exists("refresh token", t.ID)
	}
	if _, ok := s.refresh[t.TokenHash]; ok {
		return exists("refresh token hash of", t.ID)
	}
	return nil
}

// insertRefresh stores t, which the caller no longer shares. The caller
// holds s.mu.
func (s *Store) insertRefresh(t *storage.RefreshToken) {
	s.refresh[t.TokenHash] = t
	s.refreshIDs[t.ID] = t.TokenHash
}

// GetRefreshToken implements storage.RefreshTokens.
func (s *Store) GetRefreshToken(_ context.Context, tokenHash string) (*storage.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[tokenHash]
	if !ok {
		return nil, notFound("refresh token", "")
	}
	return cloneRefresh(t), nil
}

// GetRefreshGrant implements storage.RefreshTokens.
func (s *Store) GetRefreshGrant(_ context.Context, tokenHash string) (*storage.RefreshGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[tokenHash]
	if !ok {
		return nil, notFound("refresh token", "")
	}
	g := &storage.RefreshGrant{Token: cloneRefresh(t)}
	if u, ok := s.users[t.UserID]; ok {
		g.User = s.userOut(u)
	}
	if ss, ok := s.sessions[t.SessionID]; ok {
		g.Session = cloneSession(ss)
	}
	return g, nil
}

// RotateRefreshToken implements storage.RefreshTokens. The checks run in
// this order: unknown, revoked or expired, or in a family with a revoked
// member (ErrNotFound), then rotated outside the grace window
// (ErrTokenReused, family revoked), then a taken successor ID or hash
// (ErrAlreadyExists, nothing changed).
func (s *Store) RotateRefreshToken(_ context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace) (*storage.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.refresh[oldHash]
	switch {
	case !ok:
		return nil, notFound("refresh token", "")
	case !old.RevokedAt.IsZero() || s.familyRevoked(old.FamilyID):
		return nil, fmt.Errorf("memory: refresh token %q is revoked: %w", old.ID, storage.ErrNotFound)
	case expired(old.ExpiresAt, now) || expired(old.FamilyExpiresAt, now):
		return nil, fmt.Errorf("memory: refresh token %q expired: %w", old.ID, storage.ErrNotFound)
	case !old.RotatedAt.IsZero() && !inGrace(old, now, grace):
		s.revokeFamily(old.FamilyID, now)
		return nil, fmt.Errorf("memory: refresh token %q of family %q: %w", old.ID, old.FamilyID, storage.ErrTokenReused)
	}
	if err := s.checkNewRefresh(next); err != nil {
		return nil, err
	}
	return cloneRefresh(s.rotate(old, next, now)), nil
}

// rotate marks old rotated (or counts one more reuse inside the grace
// window) and inserts its successor from next, returning it. The caller
// holds s.mu and has checked that old may be rotated and next is new.
func (s *Store) rotate(old, next *storage.RefreshToken, now time.Time) *storage.RefreshToken {
	if !old.RotatedAt.IsZero() {
		old.Reuses++ // accepted inside the grace window
	} else {
		old.RotatedAt = ts(now)
	}
	n := cloneRefresh(next)
	n.FamilyID, n.ClientID, n.UserID, n.SessionID = old.FamilyID, old.ClientID, old.UserID, old.SessionID
	n.Scopes, n.AMR, n.Claims = slices.Clone(old.Scopes), slices.Clone(old.AMR), cloneClaims(old.Claims)
	n.AuthTime, n.FamilyExpiresAt, n.DPoPJKT = old.AuthTime, old.FamilyExpiresAt, old.DPoPJKT
	n.RotatedAt, n.RevokedAt, n.Reuses = time.Time{}, time.Time{}, 0
	s.insertRefresh(n)
	return n
}

// RotateRefreshGrant implements storage.RefreshTokens: RotateRefreshToken's
// success case, under the same lock as the checks of cond.
func (s *Store) RotateRefreshGrant(_ context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace, cond storage.RefreshConditions) (*storage.RotatedGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.refresh[oldHash]
	if !ok || !old.RevokedAt.IsZero() || s.familyRevoked(old.FamilyID) ||
		expired(old.ExpiresAt, now) || expired(old.FamilyExpiresAt, now) ||
		(!old.RotatedAt.IsZero() && !inGrace(old, now, grace)) {
		return nil, notFound("rotatable refresh token", "")
	}
	var user *storage.User
	if u, ok := s.users[old.UserID]; ok {
		user = s.userOut(u)
	}
	if !cond.Hold(old, user) {
		return nil, notFound("refresh token meeting the conditions", "")
	}
	ss, ok := s.sessions[old.SessionID]
	live := ok && ss.Active(ts(now), cond.SessionIdle)
	if !live && !slices.Contains(old.Scopes, "offline_access") {
		return nil, notFound("refresh token meeting the conditions", "")
	}
	if err := s.checkNewRefresh(next); err != nil {
		return nil, err
	}
	graceReuse := !old.RotatedAt.IsZero()
	return &storage.RotatedGrant{Token: cloneRefresh(s.rotate(old, next, now)), User: user, SessionLive: live, GraceReuse: graceReuse}, nil
}

// inGrace reports whether the rotated token t may be rotated once more at
// now under grace.
func inGrace(t *storage.RefreshToken, now time.Time, grace storage.ReuseGrace) bool {
	return grace.On() && ts(now).Before(t.RotatedAt.Add(grace.Window)) && t.Reuses < grace.MaxReuses
}

// familyRevoked reports whether the family has a revoked member or none at
// all. The caller holds s.mu.
func (s *Store) familyRevoked(familyID string) bool {
	found := false
	for _, t := range s.refresh {
		if t.FamilyID != familyID {
			continue
		}
		if !t.RevokedAt.IsZero() {
			return true
		}
		found = true
	}
	return !found
}

// RevokeRefreshFamily implements storage.RefreshTokens. Tokens already
// revoked keep their first revocation time; an unknown family is no error.
func (s *Store) RevokeRefreshFamily(_ context.Context, familyID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeFamily(familyID, at)
	return nil
}

// revokeFamily revokes every unrevoked token of the family. The caller holds
// s.mu.
func (s *Store) revokeFamily(familyID string, at time.Time) {
	for _, t := range s.refresh {
		if t.FamilyID == familyID && t.RevokedAt.IsZero() {
			s.bump(t.UserID)
			t.RevokedAt = ts(at)
		}
	}
}

// RevokeSessionRefreshTokens implements storage.RefreshTokens. Every
// unrevoked token of the session is revoked (rotated ones included), except
// offline_access tokens when keepOffline is true.
func (s *Store) RevokeSessionRefreshTokens(_ context.Context, sessionID string, keepOffline bool, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		if t.SessionID != sessionID || !t.RevokedAt.IsZero() {
			continue
		}
		if keepOffline && slices.Contains(t.Scopes, "offline_access") {
			continue
		}
		s.bump(t.UserID)
		t.RevokedAt = ts(at)
	}
	return nil
}

// RevokeUserRefreshTokens implements storage.RefreshTokens.
func (s *Store) RevokeUserRefreshTokens(_ context.Context, userID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		if t.UserID == userID && t.RevokedAt.IsZero() {
			s.bump(t.UserID)
			t.RevokedAt = ts(at)
		}
	}
	return nil
}
