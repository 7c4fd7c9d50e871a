package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// AppendAudit implements storage.AuditLog.
func (s *Store) AppendAudit(_ context.Context, e *storage.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.audit {
		if x.ID == e.ID {
			return fmt.Errorf("memory: audit entry %q: %w", e.ID, storage.ErrAlreadyExists)
		}
	}
	c := *e
	c.Time = ts(c.Time)
	s.audit = append(s.audit, &c)
	return nil
}

// ListAudit implements storage.AuditLog.
func (s *Store) ListAudit(_ context.Context, offset, limit int) ([]*storage.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := slices.Clone(s.audit)
	slices.SortFunc(all, func(a, b *storage.AuditEntry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	offset = max(offset, 0)
	if offset >= len(all) || limit <= 0 {
		return nil, nil
	}
	all = all[offset:min(offset+limit, len(all))]
	out := make([]*storage.AuditEntry, len(all))
	for i, e := range all {
		c := *e
		out[i] = &c
	}
	return out, nil
}
