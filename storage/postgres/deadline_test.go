package postgres

import (
	"testing"
	"time"
)

// TestClientTimeout: the client-side bound follows the server's
// statement_timeout, from the DSN or the default, and never disappears.
func TestClientTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, dsn string
		want      time.Duration
	}{
		{"default", "postgres://u@localhost/x", DefaultStatementTimeout + deadlineSlack},
		{"milliseconds", "postgres://u@localhost/x?statement_timeout=5000", 5*time.Second + deadlineSlack},
		{"unit-s", "host=/nonexistent dbname=x statement_timeout=7s", 7*time.Second + deadlineSlack},
		{"unit-min", "host=/nonexistent dbname=x statement_timeout=1min", time.Minute + deadlineSlack},
		{"zero-keeps-a-bound", "postgres://u@localhost/x?statement_timeout=0", DefaultStatementTimeout + deadlineSlack},
		{"unreadable-keeps-a-bound", "postgres://u@localhost/x?statement_timeout=soon", DefaultStatementTimeout + deadlineSlack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := poolConfig(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if got := clientTimeout(cfg.ConnConfig.RuntimeParams["statement_timeout"]); got != tc.want {
				t.Fatalf("clientTimeout = %v, want %v", got, tc.want)
			}
		})
	}
	cfg, err := poolConfig("postgres://u@localhost/x")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnConfig.RuntimeParams["statement_timeout"]; got != "2000" {
		t.Fatalf("statement_timeout sent to the server = %q, want 2000 (ms)", got)
	}
}
