package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/migrations"
)

// Waiting for the database at start (issue #13 item 14): an orchestrator
// starts monban and PostgreSQL together, or restarts the database under
// it; exiting would only crash-loop. The first retry comes after
// firstRetry, each next one after twice as long, at most maxRetry.
const (
	firstRetry = 500 * time.Millisecond
	maxRetry   = 15 * time.Second
	// attemptTimeout bounds one attempt, so a database that accepts
	// connections but does not answer is retried too.
	attemptTimeout = 10 * time.Second
)

// retryDelay is how long to wait after the attempt-th failed attempt
// (1-based): capped exponential backoff.
func retryDelay(attempt int) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// WaitForDatabase returns once the PostgreSQL database at dsn answers and
// has every migration this binary knows applied, so New will not fail for
// want of either. Until then it retries with capped exponential backoff,
// logging every failed attempt with its reason and the delay before the
// next, and telling status what it waits for (for /readyz, see
// StartingHandler). It returns ctx's error when ctx ends first (SIGTERM
// while waiting), and at once an error waiting cannot cure: a connection
// string the driver cannot parse.
func WaitForDatabase(ctx context.Context, dsn string, logger *slog.Logger, status func(string)) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return fmt.Errorf("database URL: %w", err)
	}
	for attempt := 1; ; attempt++ {
		problem := checkDatabase(ctx, dsn)
		if problem == "" {
			if attempt > 1 {
				logger.Info("database ready", "attempts", attempt)
			}
			status("")
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		delay := retryDelay(attempt)
		status(problem)
		logger.Warn("database not ready; waiting", "problem", problem, "attempt", attempt, "retry_in", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// checkDatabase describes why the database is not ready yet, or "".
func checkDatabase(ctx context.Context, dsn string) string {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	n, err := migrations.Pending(ctx, dsn)
	switch {
	case err != nil:
		return "database: " + err.Error()
	case n > 0:
		return fmt.Sprintf("migrations: %d pending (run `monban migrate up`)", n)
	}
	return ""
}

// StartingHandler is the management handler while serve starts, before
// New has returned: /healthz answers 200 (the process is alive, so a
// liveness probe does not restart it while it waits for the database),
// /readyz 503 with "starting" and what status reports start-up waits for,
// /metrics 503. serve replaces it with ManagementHandler once New
// returns.
func StartingHandler(status func() string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	notYet := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "starting"
		if s := status(); s != "" {
			msg += "\n" + s
		}
		_, _ = fmt.Fprintln(w, msg)
	}
	mux.HandleFunc("GET /readyz", notYet)
	mux.HandleFunc("GET /metrics", notYet)
	return mux
}
