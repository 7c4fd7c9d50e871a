package memory

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// CreateUserToken implements storage.UserTokens.
func (s *Store) CreateUserToken(_ context.Context, t *storage.UserToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t.UserID]; !ok {
		return notFound("user", t.UserID)
	}
	if _, ok := s.userTokens[t.Hash]; ok {
		return exists("user token", t.Hash)
	}
	s.deleteUserTokens(t.UserID, t.Purpose)
	c := cloneUserToken(t)
	s.userTokens[t.Hash] = c
	return nil
}

// GetUserToken implements storage.UserTokens.
func (s *Store) GetUserToken(_ context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.userTokens[hash]
	if !ok || t.Purpose != purpose || !ts(now).Before(t.ExpiresAt) || s.users[t.UserID] == nil {
		return nil, notFound("user token", "")
	}
	return cloneUserToken(t), nil
}

// ConsumeUserToken implements storage.UserTokens.
func (s *Store) ConsumeUserToken(_ context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.userTokens[hash]
	if !ok || t.Purpose != purpose {
		return nil, notFound("user token", "")
	}
	delete(s.userTokens, hash)
	if !ts(now).Before(t.ExpiresAt) || s.users[t.UserID] == nil {
		return nil, notFound("user token", "")
	}
	return cloneUserToken(t), nil
}

// DeleteUserTokens implements storage.UserTokens.
func (s *Store) DeleteUserTokens(_ context.Context, userID, purpose string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteUserTokens(userID, purpose), nil
}

// deleteUserTokens removes the user's tokens of the purpose. The caller
// holds s.mu.
func (s *Store) deleteUserTokens(userID, purpose string) int {
	n := 0
	for h, t := range s.userTokens {
		if t.UserID == userID && t.Purpose == purpose {
			delete(s.userTokens, h)
			n++
		}
	}
	return n
}

func cloneUserToken(t *storage.UserToken) *storage.UserToken {
	o := *t
	o.CreatedAt, o.ExpiresAt = ts(t.CreatedAt), ts(t.ExpiresAt)
	return &o
}
