package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
)

// Worker defaults.
const (
	DefaultWorkerInterval  = 2 * time.Second
	DefaultLogoutAttempts  = 12 // with retryDelay: about 3½ hours
	logoutLease            = time.Minute
	logoutBatch            = 20
	sweepBatch             = 100
	firstRetryDelay        = 10 * time.Second
	maxRetryDelay          = time.Hour
	workerShutdownDeadline = 15 * time.Second
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Issuer string
	Store  storage.Store
	Keys   *keys.Keys
	// Sessions sweeps sessions that ended without a logout (package
	// web/session's Manager.Sweep); the worker runs it each step.
	Sessions SessionSweeper
	Now      func() time.Time // nil: time.Now
	Logger   *slog.Logger     // nil: slog.Default()
	// Interval between steps; zero means DefaultWorkerInterval.
	Interval time.Duration
	// MaxAttempts bounds the deliveries of one logout token; zero means
	// DefaultLogoutAttempts.
	MaxAttempts int
	// AllowPrivateNetworks lets logout tokens go to loopback and private
	// addresses (development, or clients on an internal network).
	AllowPrivateNetworks bool
	// HTTPClient overrides the client logout tokens are sent with; nil
	// means one with short timeouts that follows no redirects (see
	// AllowPrivateNetworks).
	HTTPClient *http.Client
	// Events receives the outcome of each logout delivery; nil: none.
	Events Events
}

// SessionSweeper ends up to limit sessions that were revoked, went idle
// or expired without a logout, and enqueues their back-channel logout;
// it returns how many it ended.
type SessionSweeper interface {
	Sweep(ctx context.Context, limit int) (int, error)
}

// Worker is the provider's background work, safe to run on every replica
// at once (everything it shares lives in the store):
//   - it ends sessions that were revoked, went idle or expired without a
//     logout (checklist S5), through the SessionSweeper;
//   - it delivers back-channel logout tokens from the outbox (Back-Channel
//     Logout 1.0 §2.5–§2.8; checklist L6), retrying with exponential
//     backoff up to MaxAttempts, after which the delivery is marked failed
//     (storage.LogoutDeliveries.ListFailedLogoutDeliveries).
//
// Deleting what expired is the Janitor's job.
//
// Run loops until its context ends; Step does one round and is what tests
// call, with an injected clock.
type Worker struct {
	issuer      string
	store       storage.Store
	keys        *keys.Keys
	sessions    SessionSweeper
	now         func() time.Time
	log         *slog.Logger
	interval    time.Duration
	maxAttempts int
	http        *http.Client
	wake        chan struct{}
	events      Events
}

// NewWorker checks cfg and returns a Worker.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Sessions == nil || cfg.Issuer == "" {
		return nil, errors.New("op: worker needs Issuer, Store, Keys and Sessions")
	}
	w := &Worker{
		issuer: cfg.Issuer, store: cfg.Store, keys: cfg.Keys, sessions: cfg.Sessions,
		now: cfg.Now, log: cfg.Logger, interval: cfg.Interval,
		maxAttempts: cfg.MaxAttempts, http: cfg.HTTPClient, wake: make(chan struct{}, 1),
		events: eventsOr(cfg.Events),
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.interval <= 0 {
		w.interval = DefaultWorkerInterval
	}
	if w.maxAttempts <= 0 {
		w.maxAttempts = DefaultLogoutAttempts
	}
	if w.http == nil {
		w.http = newBackchannelClient(cfg.AllowPrivateNetworks)
	}
	return w, nil
}

// Notify wakes the worker for a step soon, e.g. after a logout enqueued
// deliveries. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run steps every Interval, and when notified, until ctx is done. A step
// under way when ctx ends is allowed to finish (bounded by a deadline), so
// no delivery is left half recorded; an unrecorded one is retried by any
// replica once its lease runs out.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workerShutdownDeadline)
		if _, err := w.Step(stepCtx); err != nil {
			w.log.ErrorContext(ctx, "background step failed", "error", err)
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
	SessionsEnded int // sessions found revoked, idle or expired and ended
	Delivered     int // logout tokens delivered
	Retrying      int // deliveries that failed and will be retried
	Failed        int // deliveries given up
}

// Step does one round of background work: sweep sessions, deliver due
// logout tokens. Errors of one part do not stop the
// others; they are returned joined.
func (w *Worker) Step(ctx context.Context) (StepResult, error) {
	var res StepResult
	var errs []error
	n, err := w.sessions.Sweep(ctx, sweepBatch)
	res.SessionsEnded = n
	errs = append(errs, err)
	errs = append(errs, w.deliver(ctx, &res))
	return res, errors.Join(errs...)
}

// deliver claims due logout deliveries and sends them concurrently.
func (w *Worker) deliver(ctx context.Context, res *StepResult) error {
	now := w.now().UTC()
	ds, err := w.store.ClaimLogoutDeliveries(ctx, now, logoutLease, logoutBatch)
	if err != nil {
		return fmt.Errorf("claim logout deliveries: %w", err)
	}
	outcomes := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { outcomes[i] = w.send(ctx, d, now) })
	}
	wg.Wait()
	var errs []error
	for i, d := range ds {
		errs = append(errs, w.record(ctx, d, outcomes[i], now, res))
	}
	return errors.Join(errs...)
}

// record stores the outcome of one attempt. Losing the lease meanwhile
// (ErrNotFound) is not an error: a newer attempt owns the delivery.
func (w *Worker) record(ctx context.Context, d *storage.LogoutDelivery, sendErr error, now time.Time, res *StepResult) error {
	attrs := []any{"event", "backchannel_logout", "client_id", d.ClientID, "session_id", d.SessionID,
		"delivery_id", d.ID, "attempt", d.Attempts}
	var err error
	switch {
	case sendErr == nil:
		err = w.store.CompleteLogoutDelivery(ctx, d.ID, d.Attempts)
		if err == nil {
			res.Delivered++
			w.events.LogoutDelivery("delivered")
			w.log.InfoContext(ctx, "logout token delivered", attrs...)
		}
	case errors.As(sendErr, new(permanentError)) || d.Attempts >= w.maxAttempts:
		err = w.store.FailLogoutDelivery(ctx, d.ID, d.Attempts, now, sendErr.Error())
		if err == nil {
			res.Failed++
			w.events.LogoutDelivery("failed")
			w.log.ErrorContext(ctx, "logout token delivery given up", append(attrs, "reason", sendErr.Error())...)
		}
	default:
		next := now.Add(retryDelay(d.Attempts))
		err = w.store.RetryLogoutDelivery(ctx, d.ID, d.Attempts, next, sendErr.Error())
		if err == nil {
			res.Retrying++
			w.events.LogoutDelivery("retry")
			w.log.WarnContext(ctx, "logout token delivery failed; will retry",
				append(attrs, "reason", sendErr.Error(), "next_attempt_at", next)...)
		}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record logout delivery %s: %w", d.ID, err)
	}
	return nil
}

// retryDelay is the backoff after the given failed attempt: 10s, 20s,
// 40s, … capped at an hour.
func retryDelay(attempt int) time.Duration {
	d := firstRetryDelay
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}
