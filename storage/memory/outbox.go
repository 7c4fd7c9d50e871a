package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// EnqueueLogoutDeliveries implements storage.LogoutDeliveries. All or
// nothing: a taken ID or unknown client inserts none.
func (s *Store) EnqueueLogoutDeliveries(_ context.Context, ds []*storage.LogoutDelivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, d := range ds {
		if _, ok := s.deliveries[d.ID]; ok || seen[d.ID] {
			return exists("logout delivery", d.ID)
		}
		seen[d.ID] = true
		if err := s.needClient(d.ClientID); err != nil {
			return err
		}
	}
	for _, d := range ds {
		s.deliveries[d.ID] = cloneDelivery(d)
	}
	return nil
}

// ClaimLogoutDeliveries implements storage.LogoutDeliveries. Deliveries due
// at the same instant are claimed in ID order.
func (s *Store) ClaimLogoutDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]*storage.LogoutDelivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*storage.LogoutDelivery
	for _, d := range s.deliveries {
		if d.FailedAt.IsZero() && !d.NextAttemptAt.After(ts(now)) && !d.ClaimedUntil.After(ts(now)) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *storage.LogoutDelivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	out := []*storage.LogoutDelivery{}
	for _, d := range due {
		if len(out) == limit {
			break
		}
		d.Attempts++
		d.ClaimedUntil = ts(now.Add(lease))
		out = append(out, cloneDelivery(d))
	}
	return out, nil
}

// claimed returns the delivery if it is still claimed as attempt. The
// caller holds s.mu.
func (s *Store) claimed(id string, attempt int) (*storage.LogoutDelivery, error) {
	d, ok := s.deliveries[id]
	if !ok || d.Attempts != attempt || !d.FailedAt.IsZero() {
		return nil, fmt.Errorf("memory: logout delivery %q attempt %d: %w", id, attempt, storage.ErrNotFound)
	}
	return d, nil
}

// CompleteLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) CompleteLogoutDelivery(_ context.Context, id string, attempt int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.claimed(id, attempt); err != nil {
		return err
	}
	delete(s.deliveries, id)
	return nil
}

// RetryLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) RetryLogoutDelivery(_ context.Context, id string, attempt int, next time.Time, lastError string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.claimed(id, attempt)
	if err != nil {
		return err
	}
	d.NextAttemptAt, d.ClaimedUntil, d.LastError = ts(next), time.Time{}, lastError
	return nil
}

// FailLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) FailLogoutDelivery(_ context.Context, id string, attempt int, at time.Time, lastError string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.claimed(id, attempt)
	if err != nil {
		return err
	}
	d.FailedAt, d.ClaimedUntil, d.LastError = ts(at), time.Time{}, lastError
	return nil
}

// ListFailedLogoutDeliveries implements storage.LogoutDeliveries. Failures
// at the same instant are ordered by ID.
func (s *Store) ListFailedLogoutDeliveries(context.Context) ([]*storage.LogoutDelivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*storage.LogoutDelivery{}
	for _, d := range s.deliveries {
		if !d.FailedAt.IsZero() {
			out = append(out, cloneDelivery(d))
		}
	}
	slices.SortFunc(out, func(a, b *storage.LogoutDelivery) int {
		return cmp.Or(b.FailedAt.Compare(a.FailedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func cloneDelivery(d *storage.LogoutDelivery) *storage.LogoutDelivery {
	o := *d
	o.CreatedAt, o.NextAttemptAt = ts(d.CreatedAt), ts(d.NextAttemptAt)
	o.ClaimedUntil, o.FailedAt = ts(d.ClaimedUntil), ts(d.FailedAt)
	return &o
}
