package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// DefaultJanitorInterval is how often a replica's janitor deletes expired
// rows.
const DefaultJanitorInterval = 5 * time.Minute

// JanitorConfig configures a Janitor.
type JanitorConfig struct {
	Store  storage.Store
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Interval between cleanups; zero means DefaultJanitorInterval.
	Interval time.Duration
}

// Janitor deletes rows nobody can use any more: authorization requests
// and code tombstones past their expiry, and expired sign-in throttle
// counters. (The access-token deny list is pruned by the Worker.) Each
// delete is one idempotent statement with an expiry cut-off, so every
// replica may run a janitor at once: a row is deleted by whichever gets
// there first, and the others find nothing.
//
// Run loops until its context ends; Step does one round when due and is
// what tests call, with an injected clock.
type Janitor struct {
	store    storage.Store
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration

	mu   sync.Mutex // guards last
	last time.Time  // last cleanup; zero: never
}

// JanitorResult counts what one Step deleted.
type JanitorResult struct {
	Ran            bool // false: not due yet
	AuthRequests   int  // expired auth requests and code tombstones
	LoginThrottles int  // expired sign-in throttle counters
}

// NewJanitor checks cfg and returns a Janitor.
func NewJanitor(cfg JanitorConfig) (*Janitor, error) {
	if cfg.Store == nil {
		return nil, errors.New("op: janitor needs Store")
	}
	j := &Janitor{store: cfg.Store, now: cfg.Now, log: cfg.Logger, interval: cfg.Interval}
	if j.now == nil {
		j.now = time.Now
	}
	if j.log == nil {
		j.log = slog.Default()
	}
	if j.interval <= 0 {
		j.interval = DefaultJanitorInterval
	}
	return j, nil
}

// Step deletes expired rows if Interval has passed since the last cleanup
// (by the injected clock); otherwise it does nothing. A failure of one
// delete does not stop the other; errors are returned joined.
func (j *Janitor) Step(ctx context.Context) (JanitorResult, error) {
	now := j.now().UTC()
	j.mu.Lock()
	due := j.last.IsZero() || now.Sub(j.last) >= j.interval
	if due {
		j.last = now
	}
	j.mu.Unlock()
	if !due {
		return JanitorResult{}, nil
	}
	res := JanitorResult{Ran: true}
	var errs []error
	n, err := j.store.DeleteExpiredAuthRequests(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete expired auth requests: %w", err))
	}
	res.AuthRequests = n
	n, err = j.store.DeleteExpiredLoginThrottles(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete expired login throttles: %w", err))
	}
	res.LoginThrottles = n
	if res.AuthRequests+res.LoginThrottles > 0 {
		j.log.InfoContext(ctx, "expired rows deleted", "event", "janitor",
			"auth_requests", res.AuthRequests, "login_throttles", res.LoginThrottles)
	}
	return res, errors.Join(errs...)
}

// Run calls Step every Interval until ctx is done.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.interval)
	defer t.Stop()
	for {
		if _, err := j.Step(ctx); err != nil && ctx.Err() == nil {
			j.log.ErrorContext(ctx, "janitor step failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
