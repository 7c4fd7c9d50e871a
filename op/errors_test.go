package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
)

// TestFailureLevel: a request abandoned by its client is not logged as a
// server error; everything else is.
func TestFailureLevel(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want slog.Level
	}{
		{"client-went-away", fmt.Errorf("postgres: get client: %w", context.Canceled), slog.LevelInfo},
		{"store-timeout", fmt.Errorf("postgres: get client: %w", context.DeadlineExceeded), slog.LevelError},
		{"store-down", errors.New("connection refused"), slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failureLevel(tc.err); got != tc.want {
				t.Fatalf("failureLevel(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
