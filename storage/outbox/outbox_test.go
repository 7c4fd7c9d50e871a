package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/outbox"
	"github.com/monban-idp/monban/storage/storagetest"
)

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   time.Duration
		attempt int
		want    time.Duration
	}{
		{"logout first", 10 * time.Second, 1, 10 * time.Second},
		{"logout doubles", 10 * time.Second, 3, 40 * time.Second},
		{"logout ninth", 10 * time.Second, 9, 2560 * time.Second},
		{"logout capped", 10 * time.Second, 10, time.Hour},
		{"mail first", 30 * time.Second, 1, 30 * time.Second},
		{"mail capped", 30 * time.Second, 8, time.Hour},
		{"far past the cap", 30 * time.Second, 100, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := outbox.RetryDelay(tc.first, tc.attempt); got != tc.want {
				t.Errorf("RetryDelay(%v, %d) = %v, want %v", tc.first, tc.attempt, got, tc.want)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"plain", errors.New("x"), false},
		{"marked", outbox.Permanent(errors.New("550")), true},
		{"marked and wrapped", fmt.Errorf("send: %w", outbox.Permanent(errors.New("550"))), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := outbox.IsPermanent(tc.err); got != tc.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// fixture is a Deliverer of the memory store's mail outbox whose Send
// answers what send says, logging to buf.
type fixture struct {
	store *memory.Store
	clock *storagetest.Clock
	buf   bytes.Buffer
	d     *outbox.Deliverer[*storage.Mail]
	outs  []string
}

func newFixture(t *testing.T, parallel bool, send func(context.Context, *storage.Mail) error) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), clock: storagetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	f.d = outbox.New(outbox.Config[*storage.Mail]{Queue: f.store.MailOutbox(), Send: send, What: "mail",
		Attrs:   func(m *storage.Mail) []any { return []any{"mail_id", m.ID} },
		Outcome: func(o string) { f.outs = append(f.outs, o) },
		Now:     f.clock.Now, Logger: slog.New(slog.NewJSONHandler(&f.buf, nil)),
		Lease: time.Minute, Batch: 10, MaxAttempts: 2, FirstRetry: 10 * time.Second, Parallel: parallel})
	return f
}

func (f *fixture) enqueue(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		now := f.clock.Now()
		m := &storage.Mail{Queued: storage.Queued{ID: id, CreatedAt: now, NextAttemptAt: now}, To: "a@example.com"}
		if err := f.store.MailOutbox().Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) step(t *testing.T, want outbox.Result) {
	t.Helper()
	got, err := f.d.Step(t.Context())
	if err != nil || got != want {
		t.Fatalf("Step = %+v, %v; want %+v", got, err, want)
	}
}

// A failed attempt is retried after the backoff, the last allowed one is
// given up with an error-level log entry carrying the reason, and a
// permanent failure is given up at once; both keep their reason.
func TestStepRetriesThenGivesUp(t *testing.T) {
	f := newFixture(t, false, func(_ context.Context, m *storage.Mail) error {
		if m.ID == "bounce" {
			return outbox.Permanent(errors.New("550 no such user"))
		}
		return errors.New("421 try later")
	})
	f.enqueue(t, "m", "bounce")
	f.step(t, outbox.Result{Retrying: 1, Failed: 1})
	f.clock.Advance(9 * time.Second)
	f.step(t, outbox.Result{}) // the retry is not due yet
	f.clock.Advance(time.Second)
	f.step(t, outbox.Result{Failed: 1}) // MaxAttempts reached

	failed, err := f.store.MailOutbox().ListFailed(t.Context())
	if err != nil || len(failed) != 2 {
		t.Fatalf("ListFailed = %+v, %v; want both", failed, err)
	}
	reasons := map[string]string{}
	for _, m := range failed {
		reasons[m.ID] = m.LastError
	}
	if reasons["m"] != "421 try later" || reasons["bounce"] != "550 no such user" {
		t.Errorf("reasons kept = %v", reasons)
	}
	if got := strings.Join(f.outs, " "); got != "retry failed failed" && got != "failed retry failed" {
		t.Errorf("outcomes = %q", got)
	}
	var gaveUp int
	for line := range strings.Lines(f.buf.String()) {
		if strings.Contains(line, `"level":"ERROR","msg":"mail given up"`) && strings.Contains(line, `"reason":`) {
			gaveUp++
		}
	}
	if gaveUp != 2 {
		t.Errorf("%d error-level give-up entries, want 2; log:\n%s", gaveUp, f.buf.String())
	}
}

// A worker whose lease ran out while it was sending is refused when it
// reports (a newer attempt owns the item), which is not an error; the
// newer attempt's report counts.
func TestStepLostLease(t *testing.T) {
	var f *fixture
	var stale *outbox.Deliverer[*storage.Mail]
	var calls atomic.Int32
	f = newFixture(t, false, func(ctx context.Context, m *storage.Mail) error {
		if calls.Add(1) == 1 { // the first worker stalls past its lease ...
			f.clock.Advance(2 * time.Minute)
			res, err := stale.Step(ctx) // ... and another claims and delivers it
			if err != nil || res.Delivered != 1 {
				t.Errorf("second worker: Step = %+v, %v; want 1 delivered", res, err)
			}
		}
		return nil
	})
	stale = f.d
	f.enqueue(t, "m")
	f.step(t, outbox.Result{})
	if n := calls.Load(); n != 2 {
		t.Errorf("sent %d times, want 2 (at least once, twice after a lost lease)", n)
	}
}

// With Parallel, the items of a step are sent at the same time: each
// Send waits until every one of them has started.
func TestStepParallel(t *testing.T) {
	const n = 5
	var started atomic.Int32
	all := make(chan struct{})
	f := newFixture(t, true, func(ctx context.Context, _ *storage.Mail) error {
		if started.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	f.enqueue(t, "a", "b", "c", "d", "e")
	f.step(t, outbox.Result{Delivered: n})
}

// Run steps at once and when notified; when its context ends, the step
// under way keeps a live context, finishes, and then Run returns.
func TestLoopFinishesTheStepUnderWay(t *testing.T) {
	steps := make(chan context.Context)
	release := make(chan struct{})
	l := outbox.NewLoop(time.Hour, time.Minute, slog.New(slog.DiscardHandler), "test", func(ctx context.Context) error {
		steps <- ctx
		<-release
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()

	<-steps // the first step, at once
	release <- struct{}{}
	l.Notify()
	stepCtx := <-steps // the notified step
	cancel()
	if err := stepCtx.Err(); err != nil {
		t.Fatalf("the step under way lost its context at shutdown: %v", err)
	}
	select {
	case <-done:
		t.Fatal("Run returned before the step under way finished")
	default:
	}
	release <- struct{}{}
	<-done
}
