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
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
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
func runServe(ctx context.Context, cfg *app.Config, dev bool, stdout io.Writer, seeded ...func(context.Context, storage.Store, *demoCredentials) error) error {
	logger := app.NewLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	slog.SetDefault(logger)
	c := *cfg
	c.Logger = logger
	waitSeed := func() error { return nil } // --dev: the demo data is in the store
	listen := c.Listen
	if dev {
		if c.Issuer == "" {
			c.Issuer = devIssuer
		}
		if listen == app.Defaults().Listen {
			listen = devListen
		}
		store := memory.New()
		c.Store = store
		c.KEK = keys.RandomKeyEncryptionKeys()
		c.BackchannelAllowPrivateNetworks = true // demo clients run on localhost
		c.Mail.Dev = true                        // mail goes to the log and /dev/mail, not out
		// The demo data (an argon2id hash) is made while app.New below
		// generates the signing keys: both are CPU work on an empty store,
		// and together they are most of the time to ready.
		seeding := make(chan error, 1)
		go func() {
			creds, err := seedDemo(ctx, store)
			if err == nil {
				printDemo(stdout, c.Issuer, c.ManagementListen, creds)
				for _, f := range seeded {
					if err = f(ctx, store, creds); err != nil {
						break
					}
				}
			}
			seeding <- err
		}()
		waitSeed = func() error { return <-seeding }
	}
	a, err := app.New(ctx, c)
	if seedErr := waitSeed(); err == nil {
		err = seedErr
	}
	if err != nil {
		if a != nil {
			_ = a.Close()
		}
		return err
	}
	// The jobs stop and the store closes last, after the listeners
	// (checklist R7).
	defer a.Close()
	// Start-up work leaves garbage that the runtime would hand back to the
	// OS only over minutes: the demo password's argon2id hash (19 MiB) and
	// RSA key generation. Returning it now keeps an idle server small
	// (issue 8: idle RSS).
	debug.FreeOSMemory()
	if c.ManagementListen != "" {
		stop, err := startManagement(c.ManagementListen, a.ManagementHandler(), logger)
		if err != nil {
			return err
		}
		defer stop()
		context.AfterFunc(ctx, a.Drain) // readiness 503 as soon as shutdown starts (checklist R7)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// The background jobs stop with ctx, after their current step, before
	// the store is closed (checklist R7): a.Close waits for them.
	go func() { _ = a.Run(ctx) }()
	return serveHTTP(ctx, ln, a.Handler(), logger, c.Issuer, c.ShutdownDelay)
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

// startManagement serves h (app.ManagementHandler) on addr until the returned stop function is
// called; stop shuts the listener down gracefully. serve calls stop after
// the provider has drained, so /readyz keeps answering 503 meanwhile.
func startManagement(addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("management listener: %w", err)
	}
	srv := newHTTPServer(h, logger)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("management listener failed", "error", err)
		}
	}()
	logger.Info("management listener is serving", "listen", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
