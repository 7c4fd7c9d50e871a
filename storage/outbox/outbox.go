package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// maxRetryDelay caps the backoff between attempts.
const maxRetryDelay = time.Hour

// Config configures a Deliverer.
type Config[T storage.QueueItem] struct {
	Queue storage.Queue[T]
	// Send delivers one item; an error wrapped by Permanent is not retried.
	Send func(ctx context.Context, item T) error
	// What names an item in log messages, e.g. "mail".
	What string
	// Attrs returns an item's log attributes (the attempt is added).
	Attrs func(T) []any
	// Outcome, when set, is told each recorded outcome: "delivered",
	// "retry" or "failed" (given up).
	Outcome func(string)
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: slog.Default()
	// Lease is how long a claim keeps other workers off an item; longer
	// than a step can take.
	Lease time.Duration
	// Batch is how many items one step claims.
	Batch int
	// MaxAttempts bounds the attempts of one item.
	MaxAttempts int
	// FirstRetry is the delay after the first failed attempt, doubled
	// after each further one up to an hour.
	FirstRetry time.Duration
	// Parallel sends the items of a step at the same time rather than one
	// after the other.
	Parallel bool
}

// Deliverer delivers one Queue; safe to run on every replica at once.
type Deliverer[T storage.QueueItem] struct{ cfg Config[T] }

// New returns a Deliverer for cfg, whose Queue, Send, What, Attrs,
// Lease, Batch, MaxAttempts and FirstRetry the caller sets.
func New[T storage.QueueItem](cfg Config[T]) *Deliverer[T] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Outcome == nil {
		cfg.Outcome = func(string) {}
	}
	return &Deliverer[T]{cfg: cfg}
}

// Result counts what one Step did.
type Result struct {
	Delivered int // items delivered
	Retrying  int // failed, will be retried
	Failed    int // given up
}

// Step claims the due items, sends them and records the outcomes. Losing
// a lease meanwhile is not an error: a newer attempt owns the item.
func (d *Deliverer[T]) Step(ctx context.Context) (Result, error) {
	var res Result
	now := d.cfg.Now().UTC()
	items, err := d.cfg.Queue.Claim(ctx, now, d.cfg.Lease, d.cfg.Batch)
	if err != nil {
		return res, fmt.Errorf("claim %s: %w", d.cfg.What, err)
	}
	outcomes := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		if d.cfg.Parallel {
			wg.Go(func() { outcomes[i] = d.cfg.Send(ctx, it) })
		} else {
			outcomes[i] = d.cfg.Send(ctx, it)
		}
	}
	wg.Wait()
	errs := make([]error, len(items))
	for i, it := range items {
		errs[i] = d.record(ctx, it, outcomes[i], now, &res)
	}
	return res, errors.Join(errs...)
}

// record stores the outcome of one attempt.
func (d *Deliverer[T]) record(ctx context.Context, it T, sendErr error, now time.Time, res *Result) error {
	st, q, log := it.State(), d.cfg.Queue, d.cfg.Logger
	attrs := append(d.cfg.Attrs(it), "attempt", st.Attempts)
	var err error
	switch {
	case sendErr == nil:
		if err = q.Complete(ctx, st.ID, st.Attempts); err == nil {
			res.Delivered++
			d.cfg.Outcome("delivered")
			log.InfoContext(ctx, d.cfg.What+" delivered", attrs...)
		}
	case IsPermanent(sendErr) || st.Attempts >= d.cfg.MaxAttempts:
		if err = q.Fail(ctx, st.ID, st.Attempts, now, sendErr.Error()); err == nil {
			res.Failed++
			d.cfg.Outcome("failed")
			log.ErrorContext(ctx, d.cfg.What+" given up", append(attrs, "reason", sendErr.Error())...)
		}
	default:
		next := now.Add(RetryDelay(d.cfg.FirstRetry, st.Attempts))
		if err = q.Retry(ctx, st.ID, st.Attempts, next, sendErr.Error()); err == nil {
			res.Retrying++
			d.cfg.Outcome("retry")
			log.WarnContext(ctx, d.cfg.What+" not delivered; will retry",
				append(attrs, "reason", sendErr.Error(), "next_attempt_at", next)...)
		}
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("record %s %s: %w", d.cfg.What, st.ID, err)
	}
	return nil
}

// RetryDelay is the backoff after the given failed attempt: first,
// doubled after each further attempt, capped at an hour.
func RetryDelay(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Permanent marks err as a failure no retry can fix: the item is given up
// at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }
