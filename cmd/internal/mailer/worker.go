package mailer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/outbox"
)

// Worker defaults.
const (
	DefaultInterval    = 2 * time.Second
	DefaultMaxAttempts = 10 // with the backoff: about 3 hours
	lease              = 2 * time.Minute
	batch              = 20
	firstRetryDelay    = 30 * time.Second
	shutdownDeadline   = 30 * time.Second
)

// Sender sends one message. An error wrapping a permanent failure
// (outbox.Permanent) is not retried.
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

// Worker delivers the mail outbox with package outbox's rules, one
// message after the other (30 s backoff doubling, capped at an hour); safe
// to run on every replica at once. Step does one round (what tests call,
// with an injected clock); Run loops until its context ends.
type Worker struct {
	*outbox.Deliverer[*storage.Mail]
	*outbox.Loop
}

// New checks cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("mailer: Store and Sender are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	w := &Worker{Deliverer: outbox.New(outbox.Config[*storage.Mail]{
		Queue: cfg.Store.MailOutbox(), Send: cfg.Sender.Send, What: "mail",
		Attrs: func(m *storage.Mail) []any { return []any{"event", "mail", "mail_id", m.ID, "kind", m.Kind} },
		Now:   cfg.Now, Logger: cfg.Logger,
		Lease: lease, Batch: batch, MaxAttempts: cfg.MaxAttempts, FirstRetry: firstRetryDelay,
	})}
	w.Loop = outbox.NewLoop(cfg.Interval, shutdownDeadline, cfg.Logger, "mail delivery", func(ctx context.Context) error {
		_, err := w.Step(ctx)
		return err
	})
	return w, nil
}
