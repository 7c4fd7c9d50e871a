package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// queueKind describes one outbox of the store: where its items live and
// what is particular to it. Everything else is queue's.
type queueKind[T storage.QueueItem] struct {
	what  string                   // in errors, e.g. "mail"
	items func(*data) map[string]T // the outbox, by ID
	clone func(T) T
	check func(*Store, T) error // refuses an item on Enqueue; nil: none
	fail  func(T)               // clears what a given-up item no longer needs; nil: nothing
}

var (
	mailKind = &queueKind[*storage.Mail]{what: "mail",
		items: func(d *data) map[string]*storage.Mail { return d.mails },
		clone: cloneItem[storage.Mail],
		fail:  func(m *storage.Mail) { m.Text, m.HTML = "", "" },
	}
	logoutKind = &queueKind[*storage.LogoutDelivery]{what: "logout delivery",
		items: func(d *data) map[string]*storage.LogoutDelivery { return d.deliveries },
		clone: cloneItem[storage.LogoutDelivery],
		check: func(s *Store, d *storage.LogoutDelivery) error { return s.needClient(d.ClientID) },
	}
)

// MailOutbox implements storage.Outbox.
func (s *Store) MailOutbox() storage.Queue[*storage.Mail] { return queue[*storage.Mail]{s, mailKind} }

// LogoutOutbox implements storage.LogoutDeliveries.
func (s *Store) LogoutOutbox() storage.Queue[*storage.LogoutDelivery] {
	return queue[*storage.LogoutDelivery]{s, logoutKind}
}

// queue is storage.Queue on the store's maps, under its mutex.
type queue[T storage.QueueItem] struct {
	s *Store
	*queueKind[T]
}

// Enqueue implements storage.Queue: all or nothing.
func (q queue[T]) Enqueue(_ context.Context, items ...T) error {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	m := q.items(q.s.data)
	seen := map[string]bool{}
	for _, it := range items {
		id := it.State().ID
		if _, ok := m[id]; ok || seen[id] {
			return exists(q.what, id)
		}
		seen[id] = true
		if q.check != nil {
			if err := q.check(q.s, it); err != nil {
				return err
			}
		}
	}
	for _, it := range items {
		m[it.State().ID] = q.clone(it)
	}
	return nil
}

// Claim implements storage.Queue.
func (q queue[T]) Claim(_ context.Context, now time.Time, lease time.Duration, limit int) ([]T, error) {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	var due []T
	for _, it := range q.items(q.s.data) {
		st := it.State()
		if st.FailedAt.IsZero() && !st.NextAttemptAt.After(ts(now)) && !st.ClaimedUntil.After(ts(now)) {
			due = append(due, it)
		}
	}
	slices.SortFunc(due, func(a, b T) int {
		sa, sb := a.State(), b.State()
		return cmp.Or(sa.NextAttemptAt.Compare(sb.NextAttemptAt), cmp.Compare(sa.ID, sb.ID))
	})
	out := []T{}
	for _, it := range due {
		if len(out) == limit {
			break
		}
		st := it.State()
		st.Attempts++
		st.ClaimedUntil = ts(now.Add(lease))
		out = append(out, q.clone(it))
	}
	return out, nil
}

// claimed returns the item if it is still claimed as attempt. The caller
// holds the mutex.
func (q queue[T]) claimed(id string, attempt int) (T, error) {
	it, ok := q.items(q.s.data)[id]
	if !ok || it.State().Attempts != attempt || !it.State().FailedAt.IsZero() {
		var zero T
		return zero, fmt.Errorf("memory: %s %q attempt %d: %w", q.what, id, attempt, storage.ErrNotFound)
	}
	return it, nil
}

// Complete implements storage.Queue.
func (q queue[T]) Complete(_ context.Context, id string, attempt int) error {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	if _, err := q.claimed(id, attempt); err != nil {
		return err
	}
	delete(q.items(q.s.data), id)
	return nil
}

// Retry implements storage.Queue.
func (q queue[T]) Retry(_ context.Context, id string, attempt int, next time.Time, lastError string) error {
	return q.release(id, attempt, lastError, func(st *storage.Queued, _ T) { st.NextAttemptAt = ts(next) })
}

// Fail implements storage.Queue.
func (q queue[T]) Fail(_ context.Context, id string, attempt int, at time.Time, lastError string) error {
	return q.release(id, attempt, lastError, func(st *storage.Queued, it T) {
		st.FailedAt = ts(at)
		if q.fail != nil {
			q.fail(it)
		}
	})
}

// release ends the lease of the item claimed as attempt, recording the
// reason, and lets set say what comes next.
func (q queue[T]) release(id string, attempt int, lastError string, set func(*storage.Queued, T)) error {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	it, err := q.claimed(id, attempt)
	if err != nil {
		return err
	}
	st := it.State()
	st.ClaimedUntil, st.LastError = time.Time{}, lastError
	set(st, it)
	return nil
}

// ListFailed implements storage.Queue.
func (q queue[T]) ListFailed(context.Context) ([]T, error) {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	out := []T{}
	for _, it := range q.items(q.s.data) {
		if !it.State().FailedAt.IsZero() {
			out = append(out, q.clone(it))
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		sa, sb := a.State(), b.State()
		return cmp.Or(sb.FailedAt.Compare(sa.FailedAt), cmp.Compare(sa.ID, sb.ID))
	})
	return out, nil
}

// Count implements storage.Queue.
func (q queue[T]) Count(context.Context) (pending, failed int, err error) {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	for _, it := range q.items(q.s.data) {
		if it.State().FailedAt.IsZero() {
			pending++
		} else {
			failed++
		}
	}
	return pending, failed, nil
}

// cloneItem copies an outbox item, its times in the store's precision.
func cloneItem[T any, P interface {
	*T
	storage.QueueItem
}](it P) P {
	c := P(new(T))
	*c = *it
	st := c.State()
	st.CreatedAt, st.NextAttemptAt = ts(st.CreatedAt), ts(st.NextAttemptAt)
	st.ClaimedUntil, st.FailedAt = ts(st.ClaimedUntil), ts(st.FailedAt)
	return c
}
