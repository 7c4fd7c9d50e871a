package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// recoveryCode is one stored recovery code.
type recoveryCode struct {
	hash string
	used bool
}

// PutTOTP implements storage.Factors.
func (s *Store) PutTOTP(_ context.Context, t *storage.TOTP) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t.UserID]; !ok {
		return notFound("user", t.UserID)
	}
	if old, ok := s.totp[t.UserID]; ok && old.Confirmed() {
		return exists("confirmed totp of", t.UserID)
	}
	s.totp[t.UserID] = &storage.TOTP{UserID: t.UserID, Secret: slices.Clone(t.Secret), CreatedAt: ts(t.CreatedAt)}
	return nil
}

// GetTOTP implements storage.Factors.
func (s *Store) GetTOTP(_ context.Context, userID string) (*storage.TOTP, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.totp[userID]
	if !ok {
		return nil, notFound("totp of", userID)
	}
	return cloneTOTP(t), nil
}

// UseTOTPStep implements storage.Factors.
func (s *Store) UseTOTPStep(_ context.Context, userID string, step int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.totp[userID]
	if !ok {
		return notFound("totp of", userID)
	}
	if step <= t.LastStep {
		return fmt.Errorf("memory: totp of %q: step %d already used: %w", userID, step, storage.ErrConflict)
	}
	t.LastStep = step
	if !t.Confirmed() {
		t.ConfirmedAt = ts(at)
	}
	return nil
}

// DeleteTOTP implements storage.Factors.
func (s *Store) DeleteTOTP(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.totp[userID]; !ok {
		return notFound("totp of", userID)
	}
	delete(s.totp, userID)
	return nil
}

// ReplaceRecoveryCodes implements storage.Factors.
func (s *Store) ReplaceRecoveryCodes(_ context.Context, userID string, hashes []string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return notFound("user", userID)
	}
	codes := make([]recoveryCode, 0, len(hashes))
	for _, h := range hashes {
		codes = append(codes, recoveryCode{hash: h})
	}
	s.recovery[userID] = codes
	return nil
}

// UseRecoveryCode implements storage.Factors.
func (s *Store) UseRecoveryCode(_ context.Context, userID, hash string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := s.recovery[userID]
	for i := range codes {
		if codes[i].hash == hash && !codes[i].used {
			codes[i].used = true
			return nil
		}
	}
	return notFound("recovery code of", userID)
}

// CountRecoveryCodes implements storage.Factors.
func (s *Store) CountRecoveryCodes(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.recovery[userID] {
		if !c.used {
			n++
		}
	}
	return n, nil
}

// DeleteFactors implements storage.Factors.
func (s *Store) DeleteFactors(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteFactors(userID)
	return nil
}

// deleteFactors removes a user's factors; the caller holds the mutex.
func (d *data) deleteFactors(userID string) {
	delete(d.totp, userID)
	delete(d.recovery, userID)
	for id, c := range d.webauthn {
		if c.UserID == userID {
			delete(d.webauthn, id)
		}
	}
}

func cloneTOTP(t *storage.TOTP) *storage.TOTP {
	o := *t
	o.Secret = slices.Clone(t.Secret)
	return &o
}

func cloneCodes(c []recoveryCode) []recoveryCode { return slices.Clone(c) }
