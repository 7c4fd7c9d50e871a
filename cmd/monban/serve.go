package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/web"
)

// devIssuer and devListen are what `monban serve --dev` uses by default.
const (
	devIssuer = "http://localhost:8080"
	devListen = "localhost:8080"
)

// runServe runs the provider until ctx is cancelled. With dev it uses the
// in-memory store, a generated signing key and seeded demo data; without it,
// PostgreSQL, whose schema must be current (`monban migrate up`).
//
// seeded, if given, runs after the demo data is created in --dev (monban
// demo uses it to wire its demo apps to the clients).
func runServe(ctx context.Context, cfg *Config, dev bool, stdout io.Writer, seeded ...func(context.Context, storage.Store, *demoCredentials) error) error {
	logger := newLogger(cfg, os.Stderr)
	slog.SetDefault(logger)
	app := appConfig{Logger: logger, SessionIdle: cfg.SessionIdleTimeout, SessionMaxAge: cfg.SessionMaxAge,
		AccessTokenAlg: cfg.AccessTokenAlg, KeyRotationPeriod: cfg.KeyRotationPeriod, RotateKeys: true,
		AdminFreshAuth:          cfg.AdminFreshAuth,
		RefreshReuseGrace:       storage.ReuseGrace{Window: cfg.RefreshReuseGrace, MaxReuses: cfg.RefreshReuseMax},
		AllowPrivateBackchannel: cfg.BackchannelAllowPrivateNetworks,
		Throttle:                web.ThrottleConfig{TrustedProxies: cfg.TrustedProxies},
		AuditRetention:          cfg.AuditRetention, Appearance: cfg.Appearance}
	if cfg.AuditRetention == 0 {
		app.AuditRetention = -1 // configured as "keep forever"
	}
	var schemaPending func(context.Context) (int, error) // nil in --dev: no schema
	waitSeed := func() error { return nil }              // --dev: the demo data is in the store
	listen := cfg.Listen
	if dev {
		app.Issuer = devIssuer
		if cfg.Issuer != "" {
			app.Issuer = cfg.Issuer
		}
		if listen == defaultListen {
			listen = devListen
		}
		store := memory.New()
		app.Store = store
		app.KEK = op.RandomKeyEncryptionKeys()
		app.AllowPrivateBackchannel = true // demo clients run on localhost
		// The demo data (an argon2id hash) is made while buildApp below
		// generates the signing keys: both are CPU work on an empty store,
		// and together they are most of the time to ready.
		seeding := make(chan error, 1)
		go func() {
			creds, err := seedDemo(ctx, store)
			if err == nil {
				printDemo(stdout, app.Issuer, cfg.ManagementListen, creds)
				for _, f := range seeded {
					if err = f(ctx, store, creds); err != nil {
						break
					}
				}
			}
			seeding <- err
		}()
		waitSeed = func() error { return <-seeding }
	} else {
		kek, err := op.ParseKeyEncryptionKeys(cfg.Secrets)
		if err != nil {
			return fmt.Errorf("MONBAN_SECRETS: %w", err)
		}
		pending, err := migrations.Pending(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if pending > 0 {
			return fmt.Errorf("database schema is not current (%d migrations pending): run `monban migrate up`", pending)
		}
		store, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer store.Close()
		checkPoolSize(ctx, logger, store)
		app.Metrics = newMetrics(store.PoolStats)
		schemaPending = func(ctx context.Context) (int, error) { return migrations.Pending(ctx, cfg.DatabaseURL) }
		app.Store, app.KEK, app.Issuer = store, kek, cfg.Issuer
		app.CSRFKey = deriveKey(cfg.Secrets[0], "csrf")
	}
	if app.Metrics == nil {
		app.Metrics = newMetrics(nil)
	}
	a, err := buildApp(ctx, app)
	if seedErr := waitSeed(); err == nil {
		err = seedErr
	}
	if err != nil {
		return err
	}
	// Start-up work leaves garbage that the runtime would hand back to the
	// OS only over minutes: the demo password's argon2id hash (19 MiB) and
	// RSA key generation. Returning it now keeps an idle server small
	// (issue 8: idle RSS).
	debug.FreeOSMemory()
	if cfg.ManagementListen != "" {
		m := &management{store: app.Store, keysReady: a.Keys.Ready, pending: schemaPending, metrics: app.Metrics,
			pprof: cfg.Pprof}
		stop, err := startManagement(cfg.ManagementListen, m, logger)
		if err != nil {
			return err
		}
		defer stop()
		context.AfterFunc(ctx, m.drain) // readiness 503 as soon as shutdown starts (checklist R7)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// The worker stops with ctx, after its current step, before the store
	// is closed (checklist R7).
	workerCtx, stopWorker := context.WithCancel(ctx)
	var worker sync.WaitGroup
	worker.Go(func() { a.Worker.Run(workerCtx) })
	worker.Go(func() { a.Janitor.Run(workerCtx) })
	defer worker.Wait()
	defer stopWorker()
	return serveHTTP(ctx, ln, a.Handler, logger, app.Issuer, cfg.ShutdownDelay)
}

// serveHTTP serves until ctx is cancelled, then shuts down gracefully:
// the listener closes at once and in-flight requests get time to finish.
//
// With a drainDelay, the server first keeps serving for that long with
// keep-alives off while /readyz already answers 503, so a load balancer
// stops sending new connections before the listener closes: closing it
// resets connections still waiting in the kernel's accept queue
// (checklist R7).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, issuer string, drainDelay time.Duration) error {
	srv := newHTTPServer(h, logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("monban is serving", "issuer", issuer, "listen", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if drainDelay > 0 {
		srv.SetKeepAlivesEnabled(false)
		logger.Info("draining before shutdown", "delay", drainDelay.String())
		time.Sleep(drainDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("monban stopped")
	return nil
}

// newHTTPServer returns the server with monban's resource limits
// (checklist R13, B1; ASVS 15.2.2): a slow client cannot hold a
// connection open by trickling headers or a body, an idle keep-alive
// connection is closed, and headers over 16 KiB get 431.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second, // slowloris
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// newLogger builds the structured logger from the configuration.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(requestIDHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, opts)})
}

var _ storage.Store = (*postgres.Store)(nil)

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
	if msg := poolSizeProblem(poolMax, serverMax); msg != "" {
		logger.Warn(msg, "pool_max_conns", poolMax, "max_connections", serverMax)
		return
	}
	logger.Info("database pool", "pool_max_conns", poolMax, "max_connections", serverMax,
		"replicas_that_fit", (serverMax-reservedConnections)/poolMax)
}

// reservedConnections are left for migrations, operators and superusers
// when counting how many replicas' pools fit.
const reservedConnections = 10

// poolSizeProblem describes a pool too large for the server, or "".
func poolSizeProblem(poolMax, serverMax int32) string {
	if 2*poolMax > serverMax-reservedConnections {
		return "database pool too large for the server: fewer than two replicas fit in max_connections; " +
			"lower pool_max_conns in the database URL or raise max_connections"
	}
	return ""
}
