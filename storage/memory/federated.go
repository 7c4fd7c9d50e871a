package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// fedKey names a linked identity.
type fedKey struct{ connectorID, subject string }

func cloneFederated(f *storage.FederatedIdentity) *storage.FederatedIdentity {
	o := storage.CloneFederatedIdentity(f)
	o.CreatedAt, o.LastUsedAt = ts(f.CreatedAt), ts(f.LastUsedAt)
	if len(o.Groups) == 0 {
		o.Groups = nil
	}
	return o
}

// CreateFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) CreateFederatedIdentity(_ context.Context, f *storage.FederatedIdentity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needUser(f.UserID); err != nil {
		return err
	}
	k := fedKey{f.ConnectorID, f.Subject}
	if _, ok := s.federated[k]; ok {
		return exists("federated identity", f.ConnectorID+"/"+f.Subject)
	}
	if s.federated == nil {
		s.federated = make(map[fedKey]*storage.FederatedIdentity)
	}
	s.federated[k] = cloneFederated(f)
	return nil
}

// GetFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) GetFederatedIdentity(_ context.Context, connectorID, subject string) (*storage.FederatedIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.federated[fedKey{connectorID, subject}]
	if !ok {
		return nil, notFound("federated identity", connectorID+"/"+subject)
	}
	return cloneFederated(f), nil
}

// ListUserFederatedIdentities implements storage.FederatedIdentities.
func (s *Store) ListUserFederatedIdentities(_ context.Context, userID string) ([]*storage.FederatedIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.FederatedIdentity{}
	for _, f := range s.federated {
		if f.UserID == userID {
			out = append(out, cloneFederated(f))
		}
	}
	slices.SortFunc(out, func(a, b *storage.FederatedIdentity) int {
		return cmp.Or(cmp.Compare(a.ConnectorID, b.ConnectorID), cmp.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

// UseFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) UseFederatedIdentity(_ context.Context, connectorID, subject, email string, groups []string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.federated[fedKey{connectorID, subject}]
	if !ok {
		return notFound("federated identity", connectorID+"/"+subject)
	}
	f.Email, f.LastUsedAt = email, ts(at)
	f.Groups = slices.Clone(groups)
	if len(f.Groups) == 0 {
		f.Groups = nil
	}
	return nil
}

// DeleteFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) DeleteFederatedIdentity(_ context.Context, connectorID, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fedKey{connectorID, subject}
	if _, ok := s.federated[k]; !ok {
		return notFound("federated identity", connectorID+"/"+subject)
	}
	delete(s.federated, k)
	return nil
}

// ListUsersByEmail implements storage.FederatedIdentities.
func (s *Store) ListUsersByEmail(_ context.Context, email string) ([]*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.User{}
	if email == "" {
		return out, nil
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			out = append(out, s.userOut(u))
		}
	}
	slices.SortFunc(out, func(a, b *storage.User) int { return cmp.Compare(a.Username, b.Username) })
	return out, nil
}

// deleteUserFederated removes the user's links, as ON DELETE CASCADE
// does. The caller holds s.mu.
func (s *Store) deleteUserFederated(userID string) {
	maps.DeleteFunc(s.federated, func(_ fedKey, f *storage.FederatedIdentity) bool { return f.UserID == userID })
}
