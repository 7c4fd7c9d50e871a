package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/monban-idp/monban/storage"
)

func TestWrapErr(t *testing.T) {
	sentinels := []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrConflict, storage.ErrTokenReused}
	other := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want error // nil: no sentinel
	}{
		{"no rows", pgx.ErrNoRows, storage.ErrNotFound},
		{"wrapped no rows", fmt.Errorf("scan: %w", pgx.ErrNoRows), storage.ErrNotFound},
		{"unique violation", &pgconn.PgError{Code: "23505"}, storage.ErrAlreadyExists},
		{"foreign key violation", &pgconn.PgError{Code: "23503"}, storage.ErrNotFound},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, storage.ErrConflict},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, storage.ErrConflict},
		{"check violation", &pgconn.PgError{Code: "23514"}, nil},
		{"network error", other, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := wrapErr(tc.err, "get client %q", "c1")
			if !strings.HasPrefix(got.Error(), `postgres: get client "c1": `) {
				t.Errorf("error %q lacks the context prefix", got)
			}
			for _, s := range sentinels {
				if errors.Is(got, s) != (s == tc.want) {
					t.Errorf("errors.Is(%q, %v) = %v", got, s, !(s == tc.want))
				}
			}
			var pgErr *pgconn.PgError
			if errors.As(tc.err, &pgErr) && !errors.As(got, &pgErr) {
				t.Errorf("the driver error is no longer reachable with errors.As")
			}
		})
	}
}

func TestOpenHonoursPoolSettings(t *testing.T) {
	// Open pings, so check the configuration it builds; no server needed.
	tests := []struct {
		name         string
		dsn          string
		wantMaxConns int32
	}{
		{"pool_max_conns in a key=value DSN", "host=/nonexistent dbname=x pool_max_conns=3", 3},
		{"pool_max_conns in a URL", "postgres://u@localhost/x?pool_max_conns=7", 7},
		{"default pool size", "postgres://u@localhost/x", DefaultMaxConns()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := poolConfig(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MaxConns != tc.wantMaxConns {
				t.Errorf("MaxConns = %d, want %d", cfg.MaxConns, tc.wantMaxConns)
			}
			if cfg.ConnConfig.ConnectTimeout != defaultConnectTimeout {
				t.Errorf("ConnectTimeout = %v, want the default %v", cfg.ConnConfig.ConnectTimeout, defaultConnectTimeout)
			}
			if _, sent := cfg.ConnConfig.RuntimeParams["pool_max_conns"]; sent {
				t.Errorf("pool_max_conns would be sent to the server")
			}
		})
	}
}
