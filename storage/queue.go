package storage

import (
	"context"
	"time"
)

// Queued is the delivery state of one item of a durable outbox (a Queue):
// embedded in Mail and LogoutDelivery, so every outbox follows the same
// claim, lease, backoff and give-up rules, whatever it carries.
type Queued struct {
	ID            string
	CreatedAt     time.Time
	NextAttemptAt time.Time // due from this time on
	Attempts      int       // attempts claimed so far
	ClaimedUntil  time.Time // lease of the worker sending it; zero when unclaimed
	LastError     string    // why the last attempt failed, for operators
	FailedAt      time.Time // set when the item was given up
}

// State returns q itself; through embedding, the delivery state of the
// item that embeds it.
func (q *Queued) State() *Queued { return q }

// QueueItem is what a Queue holds: a pointer to a struct that embeds
// Queued.
type QueueItem interface {
	State() *Queued
}

// Queue is a durable outbox whose items are delivered at least once by
// workers on any number of replicas (the mail outbox, back-channel logout
// deliveries). Workers claim due items with a lease, so no two send the
// same one at once while the lease runs, and report the outcome guarded by
// the attempt number they claimed, so a worker whose lease ran out cannot
// overwrite a newer attempt. Items are written in the same transaction as
// what caused them (Atomically) and survive restarts.
type Queue[T QueueItem] interface {
	// Enqueue inserts items (each due at its NextAttemptAt), all or
	// nothing. ErrAlreadyExists on a taken ID; ErrNotFound for an item
	// naming a row that does not exist (a logout delivery's client).
	Enqueue(ctx context.Context, items ...T) error
	// Claim leases up to limit items that are due at now, not failed and
	// not leased (ClaimedUntil <= now), oldest due first (ID order at the
	// same instant): each gets Attempts+1 and ClaimedUntil = now+lease.
	// Concurrent claims never return the same item.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]T, error)
	// Complete removes the item claimed as attempt. ErrNotFound if absent,
	// given up, or claimed again since (a newer attempt).
	Complete(ctx context.Context, id string, attempt int) error
	// Retry releases the item claimed as attempt, due again at next,
	// recording why it failed. ErrNotFound as for Complete.
	Retry(ctx context.Context, id string, attempt int, next time.Time, lastError string) error
	// Fail gives the item claimed as attempt up at the given time: it is
	// never claimed again and is listed by ListFailed. An outbox may clear
	// what it no longer needs (Mail's bodies). ErrNotFound as for Complete.
	Fail(ctx context.Context, id string, attempt int, at time.Time, lastError string) error
	// ListFailed returns the items given up, newest first (ID order at the
	// same instant).
	ListFailed(ctx context.Context) ([]T, error)
	// Count returns how many items wait to be sent (retries included) and
	// how many were given up.
	Count(ctx context.Context) (pending, failed int, err error)
}
