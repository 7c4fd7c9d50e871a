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
// Filter times are compared at the stored (microsecond) precision.
func (s *Store) ListAudit(_ context.Context, f storage.AuditFilter, offset, limit int) ([]*storage.AuditEntry, error) {
	if !f.Since.IsZero() {
		f.Since = ts(f.Since)
	}
	if !f.Until.IsZero() {
		f.Until = ts(f.Until)
	}
	if !f.Older.Time.IsZero() {
		f.Older.Time = ts(f.Older.Time)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*storage.AuditEntry
	for _, e := range s.audit {
		if f.Match(e) {
			all = append(all, e)
		}
	}
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
