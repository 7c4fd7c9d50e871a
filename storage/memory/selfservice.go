package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// EnqueueMail implements storage.Outbox.
func (s *Store) EnqueueMail(_ context.Context, m *storage.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mails[m.ID]; ok {
		return exists("mail", m.ID)
	}
	s.mails[m.ID] = cloneMail(m)
	return nil
}

// ClaimMail implements storage.Outbox.
func (s *Store) ClaimMail(_ context.Context, now time.Time, lease time.Duration, limit int) ([]*storage.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*storage.Mail
	for _, m := range s.mails {
		if m.FailedAt.IsZero() && !m.NextAttemptAt.After(ts(now)) && !m.ClaimedUntil.After(ts(now)) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, func(a, b *storage.Mail) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	out := []*storage.Mail{}
	for _, m := range due {
		if len(out) == limit {
			break
		}
		m.Attempts++
		m.ClaimedUntil = ts(now.Add(lease))
		out = append(out, cloneMail(m))
	}
	return out, nil
}

// claimedMail returns the message if it is still claimed as attempt. The
// caller holds s.mu.
func (s *Store) claimedMail(id string, attempt int) (*storage.Mail, error) {
	m, ok := s.mails[id]
	if !ok || m.Attempts != attempt || !m.FailedAt.IsZero() {
		return nil, fmt.Errorf("memory: mail %q attempt %d: %w", id, attempt, storage.ErrNotFound)
	}
	return m, nil
}

// CompleteMail implements storage.Outbox.
func (s *Store) CompleteMail(_ context.Context, id string, attempt int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.claimedMail(id, attempt); err != nil {
		return err
	}
	delete(s.mails, id)
	return nil
}

// RetryMail implements storage.Outbox.
func (s *Store) RetryMail(_ context.Context, id string, attempt int, next time.Time, lastError string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.claimedMail(id, attempt)
	if err != nil {
		return err
	}
	m.NextAttemptAt, m.ClaimedUntil, m.LastError = ts(next), time.Time{}, lastError
	return nil
}

// FailMail implements storage.Outbox.
func (s *Store) FailMail(_ context.Context, id string, attempt int, at time.Time, lastError string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.claimedMail(id, attempt)
	if err != nil {
		return err
	}
	m.FailedAt, m.ClaimedUntil, m.LastError = ts(at), time.Time{}, lastError
	m.Text, m.HTML = "", ""
	return nil
}

// ListFailedMail implements storage.Outbox.
func (s *Store) ListFailedMail(context.Context) ([]*storage.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.Mail{}
	for _, m := range s.mails {
		if !m.FailedAt.IsZero() {
			out = append(out, cloneMail(m))
		}
	}
	slices.SortFunc(out, func(a, b *storage.Mail) int {
		return cmp.Or(b.FailedAt.Compare(a.FailedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CountMail implements storage.Outbox.
func (s *Store) CountMail(context.Context) (pending, failed int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.mails {
		if m.FailedAt.IsZero() {
			pending++
		} else {
			failed++
		}
	}
	return pending, failed, nil
}

func cloneMail(m *storage.Mail) *storage.Mail {
	o := *m
	o.CreatedAt, o.NextAttemptAt = ts(m.CreatedAt), ts(m.NextAttemptAt)
	o.ClaimedUntil, o.FailedAt = ts(m.ClaimedUntil), ts(m.FailedAt)
	return &o
}

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
