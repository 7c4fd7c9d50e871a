package outbox

import (
	"context"
	"log/slog"
	"time"
)

// Loop runs a step every interval, and soon after Notify, until the
// context of Run ends.
type Loop struct {
	interval time.Duration
	deadline time.Duration
	step     func(context.Context) error
	log      *slog.Logger
	what     string
	wake     chan struct{}
}

// NewLoop returns a Loop running step every interval. At shutdown a step
// under way may finish within deadline. A failed step is logged with what
// (e.g. "mail delivery") and the loop goes on.
func NewLoop(interval, deadline time.Duration, log *slog.Logger, what string, step func(context.Context) error) *Loop {
	if log == nil {
		log = slog.Default()
	}
	return &Loop{interval: interval, deadline: deadline, step: step, log: log, what: what,
		wake: make(chan struct{}, 1)}
}

// Notify wakes the loop for a step soon (something was queued). It never
// blocks.
func (l *Loop) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run steps every interval, and when notified, until ctx is done. A step
// under way when ctx ends is allowed to finish (bounded by the deadline),
// so no outcome is left half recorded; an unrecorded item is sent again by
// any replica once its lease runs out.
func (l *Loop) Run(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.deadline)
		if err := l.step(stepCtx); err != nil {
			l.log.ErrorContext(ctx, l.what+" step failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}
