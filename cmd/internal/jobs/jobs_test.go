package jobs

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestStopWaitsForEveryJob: Stop returns only after every job observed the
// cancellation and returned.
func TestStopWaitsForEveryJob(t *testing.T) {
	r := New(slog.New(slog.DiscardHandler))
	const n = 5
	var running, returned atomic.Int32
	started := make(chan struct{}, n)
	for range n {
		r.Add("loop", func(ctx context.Context) {
			running.Add(1)
			started <- struct{}{}
			<-ctx.Done()
			returned.Add(1)
		})
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range n {
		<-started
	}
	if got := r.Running(); got != n {
		t.Fatalf("Running = %d before Stop, want %d", got, n)
	}
	r.Stop()
	if got := r.Running(); got != 0 {
		t.Fatalf("Running = %d after Stop, want 0", got)
	}
	if got := returned.Load(); got != n {
		t.Fatalf("Stop returned with %d of %d jobs returned", got, n)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	r.Stop() // a second Stop is harmless
	if err := r.Start(t.Context()); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}

// TestRunnerLifecycle: Start twice fails; Stop before Start runs nothing.
func TestRunnerLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		do      func(r *Runner) error
		wantErr bool
		wantRan bool
	}{
		{"start-twice", func(r *Runner) error {
			_ = r.Start(context.Background())
			return r.Start(context.Background())
		}, true, true},
		{"stop-before-start", func(r *Runner) error {
			r.Stop()
			return r.Start(context.Background())
		}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(nil)
			var ran atomic.Bool
			r.Add("x", func(ctx context.Context) { ran.Store(true); <-ctx.Done() })
			err := tc.do(r)
			r.Stop()
			if (err != nil) != tc.wantErr || ran.Load() != tc.wantRan {
				t.Fatalf("err = %v, ran = %v; want error %v, ran %v", err, ran.Load(), tc.wantErr, tc.wantRan)
			}
		})
	}
}
