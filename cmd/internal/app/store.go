package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/storage/postgres"
)

// openStore sets a.store: cfg.Store when given, otherwise PostgreSQL at
// cfg.DatabaseURL, whose schema must be current (`monban migrate up`).
// It also makes the metrics and the management handler, which report on
// the store.
func (a *App) openStore(ctx context.Context) error {
	cfg := a.cfg
	var pending func(context.Context) (int, error) // nil: no schema (memory store)
	if cfg.Store != nil {
		a.store = cfg.Store
		if pg, ok := cfg.Store.(*postgres.Store); ok {
			a.metrics = newMetrics(pg.PoolStats)
		} else {
			a.metrics = newMetrics(nil)
		}
	} else {
		if cfg.DatabaseURL == "" {
			return errNoStore
		}
		n, err := migrations.Pending(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("database schema is not current (%d migrations pending): run `monban migrate up`", n)
		}
		pg, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		checkPoolSize(ctx, cfg.Logger, pg)
		a.store, a.owned = pg, pg.Close
		a.metrics = newMetrics(pg.PoolStats)
		pending = func(ctx context.Context) (int, error) { return migrations.Pending(ctx, cfg.DatabaseURL) }
	}
	a.mgmt = &management{store: a.store, pending: pending, metrics: a.metrics, pprof: cfg.Pprof}
	return nil
}

// checkPoolSize logs the connection pool's size against the server's
// max_connections (checklist R13: the pools of all replicas together must
// stay below it, with room for migrations and operators), and warns when
// this replica alone would take half of them or more.
func checkPoolSize(ctx context.Context, logger *slog.Logger, store *postgres.Store) {
	serverMax, err := store.ServerMaxConnections(ctx)
	if err != nil {
		logger.Warn("could not read the database's max_connections", "err", err)
		return
	}
	poolMax := store.PoolStats().MaxConns
	if msg := PoolSizeProblem(poolMax, serverMax); msg != "" {
		logger.Warn(msg, "pool_max_conns", poolMax, "max_connections", serverMax)
		return
	}
	logger.Info("database pool", "pool_max_conns", poolMax, "max_connections", serverMax,
		"replicas_that_fit", (serverMax-reservedConnections)/poolMax)
}

// reservedConnections are left for migrations, operators and superusers
// when counting how many replicas' pools fit.
const reservedConnections = 10

// PoolSizeProblem describes a pool too large for the server, or "".
func PoolSizeProblem(poolMax, serverMax int32) string {
	if 2*poolMax > serverMax-reservedConnections {
		return "database pool too large for the server: fewer than two replicas fit in max_connections; " +
			"lower pool_max_conns in the database URL or raise max_connections"
	}
	return ""
}
