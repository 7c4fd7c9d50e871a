package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Worker defaults.
const (
	DefaultInterval    = 2 * time.Second
	DefaultMaxAttempts = 10 // with retryDelay: about 3 hours
	lease              = 2 * time.Minute
	batch              = 20
	firstRetryDelay    = 30 * time.Second
	maxRetryDelay      = time.Hour
	shutdownDeadline   = 30 * time.Second
)

// Sender sends one message. An error wrapping a permanent failure (see
// IsPermanent) is not retried.
type Sender interface {
	Send(ctx context.Context, m *storage.Mail) error
}

// Config configures a Worker.
type Config struct {
	Store  storage.Outbox
	Sender Sender
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Interval between steps; zero means DefaultInterval.
	Interval time.Duration
	// MaxAttempts bounds the attempts of one message; zero means
	// DefaultMaxAttempts.
	MaxAttempts int
}

// Worker delivers the outbox; safe to run on every replica at once.
type Worker struct {
	store       storage.Outbox
	sender      Sender
	now         func() time.Time
	log         *slog.Logger
	interval    time.Duration
	maxAttempts int
	wake        chan struct{}
}

// New checks cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("mailer: Store and Sender are required")
	}
	w := &Worker{store: cfg.Store, sender: cfg.Sender, now: cfg.Now, log: cfg.Logger,
		interval: cfg.Interval, maxAttempts: cfg.MaxAttempts, wake: make(chan struct{}, 1)}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.interval <= 0 {
		w.interval = DefaultInterval
	}
	if w.maxAttempts <= 0 {
		w.maxAttempts = DefaultMaxAttempts
	}
	return w, nil
}

// Notify wakes the worker for a step soon (a message was queued). It
// never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run steps every Interval, and when notified, until ctx is done. A step
// under way when ctx ends may finish (bounded by a deadline); a message
// left unrecorded is sent again by any replica once its lease runs out.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownDeadline)
		if _, err := w.Step(stepCtx); err != nil {
			w.log.ErrorContext(ctx, "mail delivery step failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// StepResult counts what one Step did.
type StepResult struct {
	Sent     int // messages the server accepted
	Retrying int // failed, will be retried
	Failed   int // given up
}

// Step claims the due messages and sends them one after the other.
func (w *Worker) Step(ctx context.Context) (StepResult, error) {
	var res StepResult
	now := w.now().UTC()
	ms, err := w.store.ClaimMail(ctx, now, lease, batch)
	if err != nil {
		return res, fmt.Errorf("mailer: claim: %w", err)
	}
	var errs []error
	for _, m := range ms {
		errs = append(errs, w.record(ctx, m, w.sender.Send(ctx, m), now, &res))
	}
	return res, errors.Join(errs...)
}

// record stores the outcome of one attempt; losing the lease meanwhile
// (ErrNotFound) is not an error: a newer attempt owns the message.
func (w *Worker) record(ctx context.Context, m *storage.Mail, sendErr error, now time.Time, res *StepResult) error {
	attrs := []any{"event", "mail", "mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts}
	var err error
	switch {
	case sendErr == nil:
		if err = w.store.CompleteMail(ctx, m.ID, m.Attempts); err == nil {
			res.Sent++
			w.log.InfoContext(ctx, "mail sent", attrs...)
		}
	case IsPermanent(sendErr) || m.Attempts >= w.maxAttempts:
		if err = w.store.FailMail(ctx, m.ID, m.Attempts, now, sendErr.Error()); err == nil {
			res.Failed++
			w.log.ErrorContext(ctx, "mail given up", append(attrs, "reason", sendErr.Error())...)
		}
	default:
		next := now.Add(retryDelay(m.Attempts))
		if err = w.store.RetryMail(ctx, m.ID, m.Attempts, next, sendErr.Error()); err == nil {
			res.Retrying++
			w.log.WarnContext(ctx, "mail not sent; will retry",
				append(attrs, "reason", sendErr.Error(), "next_attempt_at", next)...)
		}
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("mailer: record %s: %w", m.ID, err)
	}
	return nil
}

// IsPermanent reports whether err is a failure retrying cannot fix.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }

// retryDelay is the backoff after the given failed attempt: 30s, 1m, 2m,
// … capped at an hour.
func retryDelay(attempt int) time.Duration {
	d := firstRetryDelay
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}
