package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/certs"
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
// PostgreSQL, whose schema must be current (`monban migrate up`): serve
// waits for it (issue #13 item 14).
//
// The management listener starts first, so /healthz answers while the
// database is waited for and /readyz says what start-up waits for; the
// provider's listener opens once the application is assembled. With
// TLSCertFile and TLSKeyFile the provider serves https (HTTP/2 offered,
// certificates reloaded when the files change); the management listener
// stays plain HTTP.
//
// seeded, if given, runs after the demo data is created in --dev (monban
// demo uses it to wire its demo apps to the clients).
func runServe(ctx context.Context, cfg *app.Config, dev bool, stdout io.Writer, seeded ...func(context.Context, storage.Store, *demoCredentials) error) error {
	logger := app.NewLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	slog.SetDefault(logger)
	c := *cfg
	c.Logger = logger
	var tlsConfig *tls.Config
	if c.TLSCertFile != "" {
		certificates, err := certs.New(c.TLSCertFile, c.TLSKeyFile, logger, nil)
		if err != nil {
			return err
		}
		tlsConfig = certificates.TLSConfig()
	}
	var waiting atomic.Pointer[string] // what start-up waits for, for /readyz
	mgmt := &handlerSwitch{}
	mgmt.set(app.StartingHandler(func() string {
		if p := waiting.Load(); p != nil {
			return *p
		}
		return ""
	}))
	if c.ManagementListen != "" {
		stop, err := startManagement(c.ManagementListen, mgmt, logger)
		if err != nil {
			return err
		}
		defer stop() // last: /readyz answers 503 until the process ends
	}
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
	} else if c.Store == nil {
		err := app.WaitForDatabase(ctx, c.DatabaseURL, logger, func(problem string) { waiting.Store(&problem) })
		if ctx.Err() != nil {
			logger.Info("stopped while waiting for the database")
			return nil // SIGTERM while waiting: a clean exit
		}
		if err != nil {
			return err
		}
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
	mgmt.set(a.ManagementHandler())
	context.AfterFunc(ctx, a.Drain) // readiness 503 as soon as shutdown starts (checklist R7)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// The background jobs stop with ctx, after their current step, before
	// the store is closed (checklist R7): a.Close waits for them.
	go func() { _ = a.Run(ctx) }()
	return serveHTTP(ctx, ln, tlsConfig, a.Handler(), logger, c.Issuer, c.ShutdownDelay)
}

// handlerSwitch serves the handler last set: the management listener's
// handler changes from app.StartingHandler to the application's once
// app.New returns.
type handlerSwitch struct{ h atomic.Pointer[http.Handler] }

func (s *handlerSwitch) set(h http.Handler) { s.h.Store(&h) }

// ServeHTTP implements http.Handler.
func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// serveHTTP serves until ctx is cancelled, then shuts down gracefully:
// the listener closes at once and in-flight requests get time to finish.
// With tlsConfig it serves https, HTTP/2 included (net/http configures
// it for ServeTLS from the config's NextProtos).
//
// With a drainDelay, the server first keeps serving for that long with
// keep-alives off while /readyz already answers 503, so a load balancer
// stops sending new connections before the listener closes: closing it
// resets connections still waiting in the kernel's accept queue
// (checklist R7).
func serveHTTP(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, h http.Handler, logger *slog.Logger, issuer string, drainDelay time.Duration) error {
	srv := newHTTPServer(h, logger)
	errc := make(chan error, 1)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		srv.TLSConfig = tlsConfig
		go func() { errc <- srv.ServeTLS(ln, "", "") }() // certificates from tlsConfig.GetCertificate
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	logger.Info("monban is serving", "issuer", issuer, "listen", ln.Addr().String(), "scheme", scheme)
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
// connection is closed, and a request line and headers over 16 KiB
// (maxRequestHeader) get 431.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second, // slowloris
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxRequestHeader - netHTTPHeaderSlack,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// maxRequestHeader bounds an HTTP/1.1 request's line and headers
// together: over it, 431 (issue #13 item 10). The longest sign-in URL,
// "/login?id=" with a sealed pending request (pending.MaxSealedLen,
// 7 636 bytes), leaves more than 8 KiB of it for cookies and the
// browser's headers.
const maxRequestHeader = 16 << 10

// netHTTPHeaderSlack is what net/http reads beyond MaxHeaderBytes before
// it answers 431 (its initialReadLimitSize adds 4096 bytes of slack for
// the request line and bufio), so MaxHeaderBytes is set that much below
// the bound meant. Over HTTP/2 (serve with tls_cert_file) the same
// MaxHeaderBytes bounds the decoded header list, counting 32 bytes per
// field (RFC 7541 §4.1), plus room for ten fields: 12 608 bytes.
const netHTTPHeaderSlack = 4096

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
