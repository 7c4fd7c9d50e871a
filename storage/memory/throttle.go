package memory

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// RecordLoginFailure implements storage.LoginThrottles: the policy's rule
// applied under the store's mutex, so concurrent attempts are counted one
// by one.
func (s *Store) RecordLoginFailure(_ context.Context, key string, now time.Time, policy storage.ThrottlePolicy) (*storage.LoginThrottle, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttles == nil {
		s.throttles = make(map[string]storage.LoginThrottle)
	}
	t := s.throttles[key]
	t.Key = key
	t, admitted := policy.Record(t, now)
	s.throttles[key] = t
	return &t, admitted, nil
}

// GetLoginThrottle implements storage.LoginThrottles.
func (s *Store) GetLoginThrottle(_ context.Context, key string) (*storage.LoginThrottle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.throttles[key]
	if !ok {
		return nil, notFound("login throttle", key)
	}
	return &t, nil
}

// ClearLoginFailures implements storage.LoginThrottles.
func (s *Store) ClearLoginFailures(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.throttles, key)
	return nil
}
