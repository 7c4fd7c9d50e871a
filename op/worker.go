package op

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/outbox"
)

// Worker defaults.
const (
	DefaultWorkerInterval  = 2 * time.Second
	DefaultLogoutAttempts  = 12 // with the backoff: about 3½ hours
	logoutLease            = time.Minute
	logoutBatch            = 20
	sweepBatch             = 100
	firstRetryDelay        = 10 * time.Second
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
//     Logout 1.0 §2.5–§2.8; checklist L6) with package storage/outbox,
//     concurrently, retrying with exponential backoff (10 s doubling) up
//     to MaxAttempts, after which the delivery is given up
//     (storage.Queue.ListFailed).
//
// Deleting what expired is the Janitor's job.
//
// Run loops until its context ends; Step does one round and is what tests
// call, with an injected clock.
type Worker struct {
	*outbox.Loop
	issuer     string
	store      storage.Store
	keys       *keys.Keys
	sessions   SessionSweeper
	log        *slog.Logger
	http       *http.Client
	deliveries *outbox.Deliverer[*storage.LogoutDelivery]
}

// NewWorker checks cfg and returns a Worker.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Sessions == nil || cfg.Issuer == "" {
		return nil, errors.New("op: worker needs Issuer, Store, Keys and Sessions")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultWorkerInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultLogoutAttempts
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newBackchannelClient(cfg.AllowPrivateNetworks)
	}
	w := &Worker{issuer: cfg.Issuer, store: cfg.Store, keys: cfg.Keys, sessions: cfg.Sessions,
		log: cfg.Logger, http: cfg.HTTPClient}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	w.deliveries = outbox.New(outbox.Config[*storage.LogoutDelivery]{
		Queue: cfg.Store.LogoutOutbox(), What: "logout token",
		Send: func(ctx context.Context, d *storage.LogoutDelivery) error { return w.send(ctx, d, now().UTC()) },
		Attrs: func(d *storage.LogoutDelivery) []any {
			return []any{"event", "backchannel_logout", "client_id", d.ClientID, "session_id", d.SessionID,
				"delivery_id", d.ID}
		},
		Outcome: eventsOr(cfg.Events).LogoutDelivery,
		Now:     now, Logger: cfg.Logger, Lease: logoutLease, Batch: logoutBatch,
		MaxAttempts: cfg.MaxAttempts, FirstRetry: firstRetryDelay, Parallel: true,
	})
	w.Loop = outbox.NewLoop(cfg.Interval, workerShutdownDeadline, cfg.Logger, "background", func(ctx context.Context) error {
		_, err := w.Step(ctx)
		return err
	})
	return w, nil
}

// StepResult counts what one Step did.
type StepResult struct {
	SessionsEnded int // sessions found revoked, idle or expired and ended
	outbox.Result     // logout tokens delivered, retrying, given up
}

// Step does one round of background work: sweep sessions, deliver due
// logout tokens. Errors of one part do not stop the others; they are
// returned joined.
func (w *Worker) Step(ctx context.Context) (StepResult, error) {
	n, sweepErr := w.sessions.Sweep(ctx, sweepBatch)
	res, err := w.deliveries.Step(ctx)
	return StepResult{SessionsEnded: n, Result: res}, errors.Join(sweepErr, err)
}
