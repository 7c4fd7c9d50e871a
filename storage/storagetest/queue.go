package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// queueSuite is the conformance of one storage.Queue: the claim, lease,
// attempt-guard, retry, give-up and all-or-nothing rules every outbox of
// the store shares, run once for each outbox (queueTests).
type queueSuite[T storage.QueueItem] struct {
	name  string
	queue func(storage.Store) storage.Queue[T]
	// seed creates the rows items refer to and returns a maker of items.
	seed func(t *testing.T, s storage.Store) func(id string, due time.Time) T
	// givenUp returns what Fail leaves of an item (before its state is
	// set): the outbox's own clearing.
	givenUp func(T) T
}

// storeTest is one named test of the suite.
type storeTest = struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

// queueTests are the Queue conformance tests of every outbox.
var queueTests = append(queueSuite[*storage.Mail]{name: "mail",
	queue: storage.Store.MailOutbox,
	seed:  func(*testing.T, storage.Store) func(string, time.Time) *storage.Mail { return newMail },
	givenUp: func(m *storage.Mail) *storage.Mail {
		m.Text, m.HTML = "", "" // a body may hold a single-use link
		return m
	},
}.tests(), queueSuite[*storage.LogoutDelivery]{name: "logout",
	queue: storage.Store.LogoutOutbox,
	seed: func(t *testing.T, s storage.Store) func(string, time.Time) *storage.LogoutDelivery {
		sd := seedRows(t, s)
		return func(id string, due time.Time) *storage.LogoutDelivery {
			return newDelivery(id, sd.client.ID, sd, due)
		}
	},
	givenUp: func(d *storage.LogoutDelivery) *storage.LogoutDelivery { return d },
}.tests()...)

func newMail(id string, due time.Time) *storage.Mail {
	return &storage.Mail{Queued: storage.Queued{ID: id, CreatedAt: at(0), NextAttemptAt: due},
		Kind: "test", To: "alice@example.com", ToName: "Alice", Subject: "Hello",
		Text: "text " + id, HTML: "<p>" + id + "</p>"}
}

func newDelivery(id, clientID string, sd seed, due time.Time) *storage.LogoutDelivery {
	return &storage.LogoutDelivery{Queued: storage.Queued{ID: id, CreatedAt: at(0), NextAttemptAt: due},
		ClientID: clientID, Subject: sd.user.ID, SessionID: sd.session.ID}
}

func (q queueSuite[T]) tests() []storeTest {
	return []storeTest{
		{"QueueLifecycle/" + q.name, q.testLifecycle},
		{"QueueOrder/" + q.name, q.testOrder},
		{"ConcurrentQueueClaim/" + q.name, q.testConcurrentClaim},
		{"QueueAtomically/" + q.name, q.testAtomically},
	}
}

// claim claims every item due at now (lease one minute).
func (q queueSuite[T]) claim(t *testing.T, s storage.Store, now time.Time) []T {
	t.Helper()
	items, err := q.queue(s).Claim(t.Context(), now, time.Minute, 100)
	mustOK(t, err, "Claim")
	return items
}

func queueIDs[T storage.QueueItem](items []T) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.State().ID)
	}
	return out
}

// testLifecycle: an item is claimed by one worker while its lease runs,
// again after it; a late report of an older attempt is refused; a retry
// waits until it is due and keeps its reason; a given-up item is listed
// with its reason and never claimed again; a delivered one is gone.
func (q queueSuite[T]) testLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	newItem, box := q.seed(t, s), q.queue(s)
	first, later := newItem("q-1", at(0)), newItem("q-later", at(time.Hour))
	want := deepCopy(first)
	mustOK(t, box.Enqueue(ctx, first, later), "Enqueue")
	scribble(first) // the store keeps its own copy
	wantErr(t, box.Enqueue(ctx, newItem("q-new", at(0)), want), storage.ErrAlreadyExists, "Enqueue with a taken ID")

	// Attempt 1: claimed; nobody else gets it while the lease runs.
	items := q.claim(t, s, at(0))
	assertStrings(t, "first claim (q-new was not inserted)", []string{"q-1"}, queueIDs(items))
	want.State().Attempts, want.State().ClaimedUntil = 1, at(time.Minute)
	assertEqual(t, "claimed item", want, items[0])
	assertStrings(t, "claim during the lease", nil, queueIDs(q.claim(t, s, at(30*time.Second))))

	// The lease ran out: attempt 2 is claimed; the first worker's late
	// report is refused.
	assertStrings(t, "claim after the lease", []string{"q-1"}, queueIDs(q.claim(t, s, at(time.Minute))))
	wantErr(t, box.Complete(ctx, "q-1", 1), storage.ErrNotFound, "Complete of a stale attempt")
	mustOK(t, box.Retry(ctx, "q-1", 2, at(5*time.Minute), "try later"), "Retry")
	assertStrings(t, "claim before the retry is due", nil, queueIDs(q.claim(t, s, at(4*time.Minute))))
	items = q.claim(t, s, at(5*time.Minute))
	assertStrings(t, "claim when the retry is due", []string{"q-1"}, queueIDs(items))
	st := want.State()
	st.NextAttemptAt, st.Attempts, st.ClaimedUntil, st.LastError = at(5*time.Minute), 3, at(6*time.Minute), "try later"
	assertEqual(t, "retried item", want, items[0])
	q.wantCount(t, s, 2, 0)

	mustOK(t, box.Fail(ctx, "q-1", 3, at(6*time.Minute), "gave up"), "Fail")
	wantErr(t, box.Complete(ctx, "q-1", 3), storage.ErrNotFound, "Complete of a given-up item")
	wantErr(t, box.Retry(ctx, "q-1", 3, at(0), ""), storage.ErrNotFound, "Retry of a given-up item")
	failed, err := box.ListFailed(ctx)
	mustOK(t, err, "ListFailed")
	want = q.givenUp(want)
	st = want.State()
	st.ClaimedUntil, st.FailedAt, st.LastError = time.Time{}, at(6*time.Minute), "gave up"
	assertEqual(t, "given-up items", []T{want}, failed)
	assertStrings(t, "a given-up item is never claimed", []string{"q-later"}, queueIDs(q.claim(t, s, at(2*time.Hour))))

	mustOK(t, box.Complete(ctx, "q-later", 1), "Complete")
	wantErr(t, box.Complete(ctx, "q-later", 1), storage.ErrNotFound, "Complete twice")
	wantErr(t, box.Retry(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "Retry(no-such)")
	wantErr(t, box.Fail(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "Fail(no-such)")
	assertStrings(t, "outbox after completion", nil, queueIDs(q.claim(t, s, at(3*time.Hour))))
	q.wantCount(t, s, 0, 1)
}

func (q queueSuite[T]) wantCount(t *testing.T, s storage.Store, pending, failed int) {
	t.Helper()
	p, f, err := q.queue(s).Count(t.Context())
	mustOK(t, err, "Count")
	if p != pending || f != failed {
		t.Errorf("Count = %d pending, %d failed; want %d, %d", p, f, pending, failed)
	}
}

// testOrder: the oldest due are claimed first, in ID order at the same
// instant, up to the limit; given-up items are listed newest first.
func (q queueSuite[T]) testOrder(t *testing.T, s storage.Store) {
	ctx := t.Context()
	newItem, box := q.seed(t, s), q.queue(s)
	mustOK(t, box.Enqueue(ctx, newItem("q-z", at(0)), newItem("q-a", at(time.Millisecond)),
		newItem("q-b", at(0))), "Enqueue")
	items, err := box.Claim(ctx, at(time.Second), time.Minute, 2)
	mustOK(t, err, "Claim")
	assertStrings(t, "claimed first", []string{"q-b", "q-z"}, queueIDs(items))
	assertStrings(t, "claimed next", []string{"q-a"}, queueIDs(q.claim(t, s, at(time.Second))))
	mustOK(t, box.Fail(ctx, "q-z", 1, at(time.Minute), "x"), "Fail")
	mustOK(t, box.Fail(ctx, "q-b", 1, at(2*time.Minute), "x"), "Fail")
	mustOK(t, box.Fail(ctx, "q-a", 1, at(time.Minute), "x"), "Fail")
	failed, err := box.ListFailed(ctx)
	mustOK(t, err, "ListFailed")
	assertStrings(t, "given up, newest first", []string{"q-b", "q-a", "q-z"}, queueIDs(failed))
}

// testConcurrentClaim (checklist R6): workers (replicas) claiming at the
// same moment never get the same item, and together get all of them.
func (q queueSuite[T]) testConcurrentClaim(t *testing.T, s storage.Store) {
	const total, workers, batch = 30, 10, 5
	ctx := t.Context()
	newItem, box := q.seed(t, s), q.queue(s)
	var items []T
	for i := range total {
		items = append(items, newItem(fmt.Sprintf("q-%02d", i), at(time.Duration(i)*time.Millisecond)))
	}
	mustOK(t, box.Enqueue(ctx, items...), "Enqueue")
	claimed := make([][]T, workers)
	errs := race(workers, func(i int) error {
		var err error
		claimed[i], err = box.Claim(ctx, at(time.Second), time.Minute, batch)
		return err
	})
	tally(t, "Claim", errs)
	seen := map[string]int{}
	for _, c := range claimed {
		if len(c) > batch {
			t.Errorf("a worker claimed %d items, more than its limit %d", len(c), batch)
		}
		for _, it := range c {
			seen[it.State().ID]++
			if it.State().Attempts != 1 {
				t.Errorf("item %s claimed as attempt %d, want 1", it.State().ID, it.State().Attempts)
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("item %s claimed by %d workers", id, n)
		}
	}
	if len(seen) != total {
		t.Errorf("%d items claimed, want all %d", len(seen), total)
	}
}

// testAtomically: an item enqueued in a failed Atomically is gone.
func (q queueSuite[T]) testAtomically(t *testing.T, s storage.Store) {
	ctx := t.Context()
	newItem := q.seed(t, s)
	boom := errors.New("boom")
	err := s.Atomically(ctx, func(tx storage.Store) error {
		mustOK(t, q.queue(tx).Enqueue(ctx, newItem("q-rolled-back", at(0))), "Enqueue")
		return boom
	})
	wantErr(t, err, boom, "Atomically")
	assertStrings(t, "outbox after a rollback", nil, queueIDs(q.claim(t, s, at(time.Hour))))
}
