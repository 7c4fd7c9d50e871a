package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// CreateSession implements storage.Sessions. ErrNotFound if the user does
// not exist.
func (s *Store) CreateSession(_ context.Context, ss *storage.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[ss.ID]; ok {
		return exists("session", ss.ID)
	}
	if _, ok := s.sessionByHash[ss.TokenHash]; ok {
		return exists("session token for session", ss.ID)
	}
	if err := s.needUser(ss.UserID); err != nil {
		return err
	}
	s.sessions[ss.ID] = cloneSession(ss)
	s.sessionByHash[ss.TokenHash] = ss.ID
	return nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(_ context.Context, id string) (*storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, notFound("session", id)
	}
	return cloneSession(ss), nil
}

// GetSessionByTokenHash implements storage.Sessions.
func (s *Store) GetSessionByTokenHash(_ context.Context, tokenHash string) (*storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.sessionByHash[tokenHash]
	if !ok {
		return nil, notFound("session token", "")
	}
	return cloneSession(s.sessions[id]), nil
}

// GetSessionWithUserActive implements storage.Sessions.
func (s *Store) GetSessionWithUserActive(_ context.Context, tokenHash string) (*storage.Session, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.sessionByHash[tokenHash]
	if !ok {
		return nil, false, notFound("session token", "")
	}
	ss := s.sessions[id]
	u, ok := s.users[ss.UserID]
	return cloneSession(ss), ok && !u.Disabled, nil
}

// ListUserSessions implements storage.Sessions. Sessions created at the same
// instant are ordered by ID.
func (s *Store) ListUserSessions(_ context.Context, userID string) ([]*storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.Session{}
	for _, ss := range s.sessions {
		if ss.UserID == userID && ss.RevokedAt.IsZero() {
			out = append(out, cloneSession(ss))
		}
	}
	slices.SortFunc(out, func(a, b *storage.Session) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// TouchSession implements storage.Sessions.
func (s *Store) TouchSession(_ context.Context, id string, lastSeen time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return notFound("session", id)
	}
	ss.LastSeenAt = ts(lastSeen)
	return nil
}

// RenewSession implements storage.Sessions.
func (s *Store) RenewSession(_ context.Context, id, newTokenHash string, authTime time.Time, amr []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok || !ss.RevokedAt.IsZero() {
		return notFound("session", id)
	}
	if _, taken := s.sessionByHash[newTokenHash]; taken {
		return exists("session token hash of", id)
	}
	delete(s.sessionByHash, ss.TokenHash)
	ss.TokenHash = newTokenHash
	s.sessionByHash[newTokenHash] = id
	ss.AuthTime, ss.LastSeenAt = ts(authTime), ts(authTime)
	ss.AMR = slices.Clone(amr)
	return nil
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return notFound("session", id)
	}
	if ss.RevokedAt.IsZero() {
		s.bump(ss.UserID)
		ss.RevokedAt = ts(at)
	}
	return nil
}

// RevokeUserSessions implements storage.Sessions. A live session is one not
// yet revoked; the IDs are returned in ascending order.
func (s *Store) RevokeUserSessions(_ context.Context, userID string, at time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for id, ss := range s.sessions {
		if ss.UserID == userID && ss.RevokedAt.IsZero() {
			s.bump(ss.UserID)
			ss.RevokedAt = ts(at)
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// AddSessionClient implements storage.Sessions.
func (s *Store) AddSessionClient(_ context.Context, sessionID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addSessionClient(sessionID, clientID)
}

// addSessionClient is AddSessionClient; the caller holds s.mu.
func (s *Store) addSessionClient(sessionID, clientID string) error {
	if _, ok := s.sessions[sessionID]; !ok {
		return notFound("session", sessionID)
	}
	set := s.sessionClient[sessionID]
	if set == nil {
		set = make(map[string]struct{})
		s.sessionClient[sessionID] = set
	}
	set[clientID] = struct{}{}
	return nil
}

// ListSessionClients implements storage.Sessions. An unknown session has no
// clients.
func (s *Store) ListSessionClients(_ context.Context, sessionID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, slices.Sorted(maps.Keys(s.sessionClient[sessionID]))...), nil
}

// EndSession implements storage.Sessions.
func (s *Store) EndSession(_ context.Context, id string, at time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return 0, notFound("session", id)
	}
	if !ss.EndedAt.IsZero() {
		return 0, nil
	}
	ss.EndedAt = ts(at)
	n := 0
	for _, cid := range slices.Sorted(maps.Keys(s.sessionClient[id])) {
		c, ok := s.clients[cid]
		if !ok || c.Disabled || c.BackchannelLogoutURI == "" {
			continue
		}
		d := &storage.LogoutDelivery{ClientID: cid, Subject: ss.UserID, SessionID: id,
			Queued: storage.Queued{ID: storage.NewID(), CreatedAt: ts(at), NextAttemptAt: ts(at)}}
		s.deliveries[d.ID] = d
		n++
	}
	return n, nil
}

// ListSessionsToEnd implements storage.Sessions. Sessions created at the
// same instant are ordered by ID.
func (s *Store) ListSessionsToEnd(_ context.Context, now time.Time, idle time.Duration, limit int) ([]*storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.Session{}
	for _, ss := range s.sessions {
		if !ss.EndedAt.IsZero() {
			continue
		}
		if ss.RevokedAt.IsZero() && !expired(ss.ExpiresAt, now) && (idle <= 0 || !expired(ss.LastSeenAt.Add(idle), now)) {
			continue
		}
		out = append(out, cloneSession(ss))
	}
	slices.SortFunc(out, func(a, b *storage.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
