package memory

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// credName is a credential ID as text for errors.
func credName(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// AddWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) AddWebAuthnCredential(_ context.Context, c *storage.WebAuthnCredential) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[c.UserID]; !ok {
		return notFound("user", c.UserID)
	}
	if _, ok := s.webauthn[string(c.ID)]; ok {
		return exists("webauthn credential", credName(c.ID))
	}
	o := storage.CloneWebAuthnCredential(c)
	o.CreatedAt, o.LastUsedAt = ts(c.CreatedAt), ts(c.LastUsedAt)
	s.webauthn[string(c.ID)] = o
	return nil
}

// ListWebAuthnCredentials implements storage.WebAuthnCredentials.
func (s *Store) ListWebAuthnCredentials(_ context.Context, userID string) ([]*storage.WebAuthnCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.WebAuthnCredential
	for _, c := range s.webauthn {
		if c.UserID == userID {
			out = append(out, storage.CloneWebAuthnCredential(c))
		}
	}
	slices.SortFunc(out, func(a, b *storage.WebAuthnCredential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ID, b.ID)
	})
	return out, nil
}

// GetWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) GetWebAuthnCredential(_ context.Context, id []byte) (*storage.WebAuthnCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.webauthn[string(id)]
	if !ok {
		return nil, notFound("webauthn credential", credName(id))
	}
	return storage.CloneWebAuthnCredential(c), nil
}

// UseWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) UseWebAuthnCredential(_ context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.webauthn[string(id)]
	if !ok {
		return notFound("webauthn credential", credName(id))
	}
	if storage.SignCountGoesBack(c.SignCount, signCount) {
		return fmt.Errorf("memory: webauthn credential %q: sign count %d after %d: %w",
			credName(id), signCount, c.SignCount, storage.ErrConflict)
	}
	c.SignCount, c.BackupState, c.LastUsedAt = signCount, backupState, ts(at)
	return nil
}

// RenameWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) RenameWebAuthnCredential(_ context.Context, userID string, id []byte, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.webauthn[string(id)]
	if !ok || c.UserID != userID {
		return notFound("webauthn credential", credName(id))
	}
	c.Name = strings.Clone(name)
	return nil
}

// DeleteWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) DeleteWebAuthnCredential(_ context.Context, userID string, id []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.webauthn[string(id)]
	if !ok || c.UserID != userID {
		return notFound("webauthn credential", credName(id))
	}
	delete(s.webauthn, string(id))
	return nil
}
