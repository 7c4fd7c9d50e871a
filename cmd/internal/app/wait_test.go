package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{5, 8 * time.Second},
		{6, 15 * time.Second}, // capped
		{100, 15 * time.Second},
	} {
		t.Run(tc.want.String(), func(t *testing.T) {
			if got := retryDelay(tc.attempt); got != tc.want {
				t.Fatalf("retryDelay(%d) = %s, want %s", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestWaitForDatabaseGivesUp(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("unparsable-DSN-at-once", func(t *testing.T) {
		err := WaitForDatabase(t.Context(), "postgres://a:b@[::1", discard, func(string) {})
		if err == nil || !strings.Contains(err.Error(), "database URL") {
			t.Fatalf("WaitForDatabase with a broken DSN = %v, want an error at once", err)
		}
	})
	t.Run("context-ends-the-wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var reported []string
		// Nothing listens on port 1: every attempt fails; the first
		// failure's report cancels, as SIGTERM would.
		err := WaitForDatabase(ctx, "postgres://monban@127.0.0.1:1/monban?connect_timeout=5", discard, func(s string) {
			reported = append(reported, s)
			cancel()
		})
		if err != context.Canceled {
			t.Fatalf("WaitForDatabase after cancel = %v, want context.Canceled", err)
		}
		if len(reported) == 0 || !strings.HasPrefix(reported[0], "database: ") {
			t.Fatalf("status reports = %q, want the database problem", reported)
		}
	})
}

func TestStartingHandler(t *testing.T) {
	h := StartingHandler(func() string { return "database: connection refused" })
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz while starting = %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "starting") || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz while starting = %d %q, want 503 saying what it waits for", code, body)
	}
	if code, _ := get(t, h, "/metrics"); code != http.StatusServiceUnavailable {
		t.Errorf("/metrics while starting = %d, want 503", code)
	}
}
