package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Janitor defaults and retention. Cut-offs are relative to the janitor's
// clock.
const (
	// DefaultInterval is how often a replica's janitor runs.
	DefaultInterval = 5 * time.Minute
	// DefaultBatch is how many rows (refresh tokens: families) one
	// delete statement removes at most.
	DefaultBatch = 500
	// maxBatches bounds one run per kind, so a large backlog is
	// worked off over several runs instead of one long one.
	maxBatches = 100
	// EndedSessionRetention keeps sessions whose end was handled (their
	// back-channel logout enqueued) this long, for operators looking into
	// a recent logout, before they are deleted.
	EndedSessionRetention = 24 * time.Hour
	// deadFamilyMargin delays deleting a dead refresh family past the
	// moment it died by more than the longest access-token lifetime
	// (clientpolicy.MaxAccessTokenTTL): an access token naming a missing
	// family is inactive, and by then none that could still be active
	// names it.
	deadFamilyMargin = time.Hour
	// FailedDeliveryRetention keeps back-channel logout deliveries that
	// were given up this long, for `monban logout-deliveries failed`.
	FailedDeliveryRetention = 30 * 24 * time.Hour
	// DefaultAuditRetention is a year, what security reviews commonly ask
	// for (e.g. PCI DSS 10.5.1): the application's default for
	// Config.AuditRetention (app.Defaults), which the janitor itself never
	// substitutes.
	DefaultAuditRetention = 365 * 24 * time.Hour
)

// Config configures a Janitor.
type Config struct {
	Store  storage.Cleanup
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Interval between cleanups; zero means DefaultInterval.
	Interval time.Duration
	// Batch is the most rows one delete statement removes; zero means
	// DefaultBatch.
	Batch int
	// AuditRetention is how long audit entries are kept; zero keeps them
	// forever (the meaning zero has in the configuration file too).
	// Negative is refused.
	AuditRetention time.Duration
}

// Janitor deletes rows nobody can use any more: expired authorization
// requests and code tombstones, sign-in throttle counters and access-token
// deny-list entries; sessions ended more than EndedSessionRetention ago;
// dead refresh-token families; logout deliveries given up more than
// FailedDeliveryRetention ago (delivered ones are deleted on delivery);
// audit entries older than the audit retention; initial access tokens of
// dynamic registration that expired or are used up.
//
// It deletes in small batches (storage.Cleanup: at most Batch rows per
// statement, repeated while a batch comes back full), so no statement
// holds locks on many rows or runs long, and every statement is
// idempotent with a cut-off time, so every replica may run a janitor at
// once: a row is deleted by whichever gets there first.
//
// Run loops until its context ends; Step does one round when due and is
// what tests call, with an injected clock.
type Janitor struct {
	store    storage.Cleanup
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration
	batch    int
	audit    time.Duration // audit retention; 0: forever

	mu   sync.Mutex // guards last
	last time.Time  // last cleanup; zero: never
}

// Result counts what one Step deleted.
type Result struct {
	Ran                    bool // false: not due yet
	AuthRequests           int  // expired auth requests and code tombstones
	LoginThrottles         int  // expired sign-in throttle counters
	AccessTokenRevocations int  // deny-list entries of expired tokens
	Grants                 int  // expired device codes, assertion jtis, pushed requests, user tokens
	EndedSessions          int  // sessions ended before the retention
	RefreshFamilies        int  // dead refresh-token families
	FailedDeliveries       int  // logout deliveries given up before the retention
	AuditEntries           int  // audit entries older than the audit retention
	InitialAccessTokens    int  // registration initial access tokens expired or used up
}

// New checks cfg and returns a Janitor.
func New(cfg Config) (*Janitor, error) {
	if cfg.Store == nil {
		return nil, errors.New("janitor: needs Store")
	}
	if cfg.Batch < 0 {
		return nil, errors.New("janitor: batch must not be negative")
	}
	if cfg.AuditRetention < 0 {
		return nil, errors.New("janitor: audit retention must not be negative (zero keeps audit entries forever)")
	}
	j := &Janitor{store: cfg.Store, now: cfg.Now, log: cfg.Logger, interval: cfg.Interval, batch: cfg.Batch,
		audit: cfg.AuditRetention}
	if j.now == nil {
		j.now = time.Now
	}
	if j.log == nil {
		j.log = slog.Default()
	}
	if j.interval <= 0 {
		j.interval = DefaultInterval
	}
	if j.batch == 0 {
		j.batch = DefaultBatch
	}
	return j, nil
}

// Step deletes what is due if Interval has passed since the last cleanup
// (by the injected clock); otherwise it does nothing. A failure of one
// kind does not stop the others; errors are returned joined.
func (j *Janitor) Step(ctx context.Context) (Result, error) {
	now := j.now().UTC()
	j.mu.Lock()
	due := j.last.IsZero() || now.Sub(j.last) >= j.interval
	if due {
		j.last = now
	}
	j.mu.Unlock()
	if !due {
		return Result{}, nil
	}
	s := j.store
	res := Result{Ran: true}
	var errs []error
	type kind struct {
		what   string
		count  *int
		cutoff time.Time
		del    func(context.Context, time.Time, int) (int, error)
	}
	kinds := []kind{
		{"expired auth requests", &res.AuthRequests, now, s.DeleteExpiredAuthRequests},
		{"expired login throttles", &res.LoginThrottles, now, s.DeleteExpiredLoginThrottles},
		{"expired access-token revocations", &res.AccessTokenRevocations, now, s.DeleteExpiredAccessTokenRevocations},
		{"expired grants", &res.Grants, now, s.DeleteExpiredGrants},
		{"ended sessions", &res.EndedSessions, now.Add(-EndedSessionRetention), s.DeleteEndedSessions},
		{"dead refresh families", &res.RefreshFamilies, now.Add(-deadFamilyMargin), s.DeleteDeadRefreshFamilies},
		{"failed logout deliveries", &res.FailedDeliveries, now.Add(-FailedDeliveryRetention), s.DeleteFailedLogoutDeliveries},
		{"expired initial access tokens", &res.InitialAccessTokens, now, s.DeleteExpiredInitialAccessTokens},
	}
	if j.audit > 0 {
		kinds = append(kinds, kind{"old audit entries", &res.AuditEntries, now.Add(-j.audit), s.DeleteAuditEntries})
	}
	for _, k := range kinds {
		n, err := j.drain(ctx, k.cutoff, k.del)
		*k.count = n
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", k.what, err))
		}
	}
	if res != (Result{Ran: true}) {
		j.log.InfoContext(ctx, "expired rows deleted", "event", "janitor",
			"auth_requests", res.AuthRequests, "login_throttles", res.LoginThrottles,
			"access_token_revocations", res.AccessTokenRevocations, "grants", res.Grants, "ended_sessions", res.EndedSessions,
			"refresh_families", res.RefreshFamilies, "failed_deliveries", res.FailedDeliveries,
			"audit_entries", res.AuditEntries, "initial_access_tokens", res.InitialAccessTokens)
	}
	return res, errors.Join(errs...)
}

// drain calls del in batches until one comes back short (nothing more is
// due), maxBatches were run, or ctx ends, and returns the total.
func (j *Janitor) drain(ctx context.Context, cutoff time.Time, del func(context.Context, time.Time, int) (int, error)) (int, error) {
	total := 0
	for range maxBatches {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := del(ctx, cutoff, j.batch)
		total += n
		if err != nil || n < j.batch {
			return total, err
		}
	}
	return total, nil
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
