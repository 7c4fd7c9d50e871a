package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/admin"
	"github.com/monban-idp/monban/web/session"
)

// appConfig is what the HTTP application needs, whatever the store.
type appConfig struct {
	Issuer        string
	Store         storage.Store
	KEK           *op.KeyEncryptionKeys
	CSRFKey       []byte // nil: random per process
	Now           func() time.Time
	Logger        *slog.Logger
	SessionIdle   time.Duration
	SessionMaxAge time.Duration
	Hasher        *password.Hasher // nil: argon2id with OWASP parameters
	// Throttle limits sign-in attempts; zero policies: web.DefaultThrottle
	// (checklist S10).
	Throttle web.ThrottleConfig
	// RefreshReuseGrace is the refresh-token reuse grace window; zero: off.
	RefreshReuseGrace storage.ReuseGrace
	// AllowPrivateBackchannel lets back-channel logout tokens go to
	// loopback and private addresses (development, tests).
	AllowPrivateBackchannel bool
	// AccessTokenAlg signs access tokens; empty: op.DefaultAccessTokenAlg.
	AccessTokenAlg string
	// KeyRotationPeriod is how long a signing key signs; zero:
	// op.DefaultKeyRotationPeriod.
	KeyRotationPeriod time.Duration
	// AdminFreshAuth is how recent an administrator's sign-in must be for
	// sensitive console actions; zero: admin.DefaultFreshAuth.
	AdminFreshAuth time.Duration
	// RotateKeys runs the signing-key refresh and rotation loop (op.Keys.Run)
	// until ctx ends, as serve does. Tests leave it off and drive the keys
	// with their clock.
	RotateKeys bool
	// AuditRetention is how long the janitor keeps audit entries; zero:
	// op.DefaultAuditRetention, negative: forever.
	AuditRetention time.Duration
	// Metrics, when not nil, counts requests and the events of op and web
	// (served by the management listener).
	Metrics *metrics
}

// application is the composed HTTP handler and the background worker that
// serve runs beside it (op.Worker: session sweep, back-channel logout,
// deny-list pruning).
type application struct {
	Handler http.Handler
	Worker  *op.Worker
	Keys    *op.Keys // for the readiness check
	// Janitor deletes expired auth requests and sign-in throttles; serve
	// runs it beside Worker.
	Janitor *op.Janitor
}

// newApp composes the application and returns its handler, for callers
// that run no background work.
func newApp(ctx context.Context, cfg appConfig) (http.Handler, error) {
	a, err := buildApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return a.Handler, nil
}

// buildApp composes the provider, the browser pages and the background
// worker: the only place that knows them all. One session.Manager owns the
// SSO session for all of them (sign-in, RP-initiated logout, the
// confirmation page, the console, the sweep); its timeouts are set here
// once.
func buildApp(ctx context.Context, cfg appConfig) (*application, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hasher == nil {
		cfg.Hasher = newHasher()
	}
	keys, err := newKeys(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	var opEvents op.Events
	var webEvents web.Events
	if cfg.Metrics != nil {
		opEvents, webEvents = cfg.Metrics, cfg.Metrics
		cfg.Metrics.watchOutbox(cfg.Store)
	}
	var worker *op.Worker
	sessions, err := session.New(session.Config{Store: cfg.Store, Issuer: cfg.Issuer,
		IdleTimeout: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge, Now: cfg.Now, Logger: cfg.Logger,
		Notify: func() { worker.Notify() }})
	if err != nil {
		return nil, err
	}
	// Requests nobody has signed in to yet travel sealed, not stored
	// (issue #13 item 7b); the key follows the CSRF key's (from the first
	// MONBAN_SECRETS secret, so replicas share it; random per process
	// without one).
	sealer, err := pending.New(pendingKey(cfg.CSRFKey), cfg.Now)
	if err != nil {
		return nil, err
	}
	pages, err := web.New(web.Config{
		Store: cfg.Store, Hasher: cfg.Hasher, Issuer: cfg.Issuer, CallbackURL: op.CallbackURL,
		Now: cfg.Now, Sessions: sessions,
		CSRFKey: cfg.CSRFKey, Logger: cfg.Logger, Throttle: cfg.Throttle,
		Events: webEvents, Pending: sealer,
	})
	if err != nil {
		return nil, err
	}
	provider, err := op.New(op.Config{
		Issuer: cfg.Issuer, Store: cfg.Store, Keys: keys, Browser: pages, Sessions: sessions, Now: cfg.Now,
		Logger:            cfg.Logger,
		AccessTokenAlg:    jose.SignatureAlgorithm(cfg.AccessTokenAlg),
		RefreshReuseGrace: cfg.RefreshReuseGrace,
		Events:            opEvents,
		Pending:           sealer,
	})
	if err != nil {
		return nil, err
	}
	worker, err = op.NewWorker(op.WorkerConfig{
		Issuer: provider.Issuer(), Store: cfg.Store, Keys: keys, Sessions: sessions, Now: cfg.Now,
		Logger:               cfg.Logger,
		AllowPrivateNetworks: cfg.AllowPrivateBackchannel,
		Events:               opEvents,
	})
	if err != nil {
		return nil, err
	}
	if cfg.RotateKeys {
		go keys.Run(ctx, cfg.Logger)
	}
	mux := http.NewServeMux()
	pages.Routes(mux)
	provider.Routes(mux)
	console, err := admin.New(admin.Config{Pages: pages, Store: cfg.Store, Issuer: cfg.Issuer, Now: cfg.Now,
		Sessions: sessions, Hasher: cfg.Hasher, Logger: cfg.Logger, FreshAuth: cfg.AdminFreshAuth})
	if err != nil {
		return nil, err
	}
	console.Routes(mux) // the admin console, /admin
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.Fail(w, r, &web.PublicError{Status: http.StatusNotFound, Title: "monban sign-in service",
			Detail: "This is a sign-in service. Applications send you here when you sign in to them."})
	})
	janitor, err := op.NewJanitor(op.JanitorConfig{Store: cfg.Store, Now: cfg.Now, Logger: cfg.Logger,
		AuditRetention: cfg.AuditRetention})
	if err != nil {
		return nil, err
	}
	// Bad characters are refused before any handler or store sees them
	// (issue #13 item 6); the OAuth endpoints answer them in JSON.
	guarded := pages.GuardInput(mux, func(r *http.Request) bool {
		switch r.URL.Path {
		case op.PathToken, op.PathRevocation, op.PathIntrospection, op.PathUserinfo:
			return true
		}
		return false
	})
	a := &application{Handler: web.BaseHeaders(guarded), Worker: worker, Keys: keys, Janitor: janitor} // checklist S9
	if strings.HasPrefix(cfg.Issuer, "https://") {
		a.Handler = web.StrictTransportSecurity(a.Handler) // checklist S9: every response
	}
	a.Handler = withRequestID(a.Handler)
	if cfg.Metrics != nil {
		a.Handler = cfg.Metrics.middleware(a.Handler, func(r *http.Request) string {
			_, pattern := mux.Handler(r)
			return pattern
		})
	}
	return a, nil
}

// newHasher returns the argon2id hasher with OWASP parameters, allowing as
// many concurrent hashes as there are CPUs (each needs 19 MiB).
func newHasher() *password.Hasher {
	return password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
}

// deriveKey derives a purpose-specific key from the first key-encryption
// secret, so replicas sharing the secret share e.g. the CSRF key.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("monban " + purpose))
	return m.Sum(nil)
}

// pendingKey is the key that seals pending authorization requests: derived
// from csrfKey (itself deriveKey(secret, "csrf")) for this purpose only,
// or random per process when csrfKey is nil, like the CSRF key.
func pendingKey(csrfKey []byte) []byte {
	if csrfKey == nil {
		k := make([]byte, pending.KeySize)
		_, _ = rand.Read(k) // never fails (Go 1.24+)
		return k
	}
	m := hmac.New(sha256.New, csrfKey)
	m.Write([]byte("monban pending auth request"))
	return m.Sum(nil)
}
