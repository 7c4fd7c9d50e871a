package memory

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Initial access tokens for dynamic client registration (storage.InitialAccessTokens).

func cloneInitial(t *storage.InitialAccessToken) *storage.InitialAccessToken {
	o := *t
	o.CreatedAt, o.ExpiresAt = ts(t.CreatedAt), ts(t.ExpiresAt)
	return &o
}

// CreateInitialAccessToken implements storage.InitialAccessTokens.
func (s *Store) CreateInitialAccessToken(_ context.Context, t *storage.InitialAccessToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.initial {
		if o.ID == t.ID {
			return exists("initial access token", t.ID)
		}
	}
	if _, ok := s.initial[t.TokenHash]; ok {
		return exists("initial access token", t.ID)
	}
	if s.initial == nil {
		s.initial = make(map[string]*storage.InitialAccessToken)
	}
	s.initial[t.TokenHash] = cloneInitial(t)
	return nil
}

// usableInitial returns the stored token if usable at now. The caller
// holds the mutex.
func (s *Store) usableInitial(hash string, now time.Time) (*storage.InitialAccessToken, error) {
	t, ok := s.initial[hash]
	if !ok || t.UsesLeft <= 0 || !ts(now).Before(t.ExpiresAt) {
		return nil, notFound("initial access token", "")
	}
	return t, nil
}

// GetInitialAccessToken implements storage.InitialAccessTokens.
func (s *Store) GetInitialAccessToken(_ context.Context, hash string, now time.Time) (*storage.InitialAccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.usableInitial(hash, now)
	if err != nil {
		return nil, err
	}
	return cloneInitial(t), nil
}

// UseInitialAccessToken implements storage.InitialAccessTokens.
func (s *Store) UseInitialAccessToken(_ context.Context, hash string, now time.Time) (*storage.InitialAccessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.usableInitial(hash, now)
	if err != nil {
		return nil, err
	}
	t.UsesLeft--
	return cloneInitial(t), nil
}
