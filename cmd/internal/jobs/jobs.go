package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Job is one background loop: it runs until ctx ends and then returns.
type Job struct {
	Name string
	Run  func(ctx context.Context)
}

// Runner runs every job given to Add in its own goroutine, from Start
// until Stop, and Stop returns only after every job has returned.
//
// A Runner runs once: after Stop, Start fails.
type Runner struct {
	log *slog.Logger

	mu      sync.Mutex
	jobs    []Job
	cancel  context.CancelFunc // set by Start
	stopped bool
	wg      sync.WaitGroup
	running atomic.Int32  // jobs started and not returned yet
	done    chan struct{} // closed by the first Stop
}

// New returns an empty Runner that logs when jobs start and stop (nil:
// slog.Default()).
func New(log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{log: log, done: make(chan struct{})}
}

// Add registers a job. Jobs added after Start are not started.
func (r *Runner) Add(name string, run func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, Job{Name: name, Run: run})
}

// Names returns the registered jobs' names, in the order they were added.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(r.jobs))
	for i, j := range r.jobs {
		names[i] = j.Name
	}
	return names
}

// Start starts every job with a context that ends when ctx ends or Stop
// is called. It fails if the Runner was started or stopped before.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errors.New("jobs: runner already stopped")
	}
	if r.cancel != nil {
		return errors.New("jobs: runner already started")
	}
	ctx, r.cancel = context.WithCancel(ctx)
	for _, j := range r.jobs {
		r.running.Add(1)
		r.wg.Go(func() {
			defer r.running.Add(-1)
			r.log.DebugContext(ctx, "job started", "job", j.Name)
			j.Run(ctx)
			r.log.DebugContext(ctx, "job stopped", "job", j.Name)
		})
	}
	return nil
}

// Done is closed when Stop is called.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Running returns how many started jobs have not returned yet.
func (r *Runner) Running() int { return int(r.running.Load()) }

// Stop cancels the jobs' context and returns once every job has
// returned. It may be called more than once, and before Start (then no
// job will run).
func (r *Runner) Stop() {
	r.mu.Lock()
	if !r.stopped {
		close(r.done)
	}
	r.stopped = true
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
