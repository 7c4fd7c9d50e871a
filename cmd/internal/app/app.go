package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/cmd/internal/janitor"
	"github.com/monban-idp/monban/cmd/internal/jobs"
	"github.com/monban-idp/monban/cmd/internal/mailer"
	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/admin"
	"github.com/monban-idp/monban/web/adminapi"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/session"
)

// App is the assembled provider: the public HTTP handler (protocol,
// sign-in pages, admin console), the management handler, and the
// background jobs that Run starts and Close stops.
type App struct {
	cfg     Config
	store   storage.Store
	owned   func() // closes a store New opened; nil when the caller's
	handler http.Handler
	mgmt    *management
	keys    *keys.Keys
	worker  *op.Worker
	janitor *janitor.Janitor
	mailer  *mailer.Worker // nil when mail is off
	metrics *metrics
	runner  *jobs.Runner
	closers []func() error // the LDAP connectors' connection pools

	closeOnce sync.Once
}

// New assembles the application from cfg: it opens the store (unless
// cfg.Store is set), loads or creates the signing keys, and composes the
// provider, the pages and the console. It starts nothing: Run starts the
// background jobs, and serving the handlers is the caller's.
//
// The caller calls Close, also when Run was never called.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg = cfg.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = NewLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	}
	if cfg.Hasher == nil {
		cfg.Hasher = NewHasher()
	}
	a := &App{cfg: cfg, runner: jobs.New(cfg.Logger)}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	if err := a.assemble(ctx); err != nil {
		a.closeStore()
		return nil, err
	}
	return a, nil
}

// assemble composes the provider, the browser pages, the console and the
// background jobs: the only place that knows them all. One session owner
// (web/session) ends sessions for all of them (RP-initiated logout, the
// confirmation page, the console, the sweep).
func (a *App) assemble(ctx context.Context) error {
	cfg := a.cfg
	if cfg.KEK == nil {
		kek, err := keys.ParseKeyEncryptionKeys(cfg.Secrets)
		if err != nil {
			return fmt.Errorf("MONBAN_SECRETS: %w", err)
		}
		cfg.KEK = kek
	}
	if cfg.CSRFKey == nil && len(cfg.Secrets) > 0 {
		cfg.CSRFKey = deriveKey(cfg.Secrets[0], "csrf")
	}
	k, err := newKeys(ctx, a.store, cfg)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	a.keys = k
	a.metrics.watchOutbox(a.store)
	var worker *op.Worker
	// The one owner of the SSO session (web/session): pages, protocol,
	// console and the sweep all end sessions through it.
	sessions, err := session.New(session.Config{Store: a.store, Issuer: cfg.Issuer,
		IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge, Now: cfg.Now, Logger: cfg.Logger,
		Notify: func() { worker.Notify() }})
	if err != nil {
		return err
	}
	// Requests nobody has signed in to yet travel sealed, not stored
	// (issue #13 item 7b); the key follows the CSRF key's (from the first
	// MONBAN_SECRETS secret, so replicas share it; random per process
	// without one).
	sealer, err := pending.New(pendingKey(cfg.CSRFKey), cfg.Now)
	if err != nil {
		return err
	}
	// The codes of SSO answers carry their request (issue #21), sealed
	// with a key of their own, derived as the pending requests' is.
	codes, err := pending.NewCodeSealer(codeKey(cfg.CSRFKey), cfg.Now)
	if err != nil {
		return err
	}
	mail, devMail, err := a.newMailer()
	if err != nil {
		return err
	}
	a.mailer = mail
	upstreams, closers, err := webConnectors(cfg.Connectors)
	a.closers = append(a.closers, closers...) // closed by Close, or by New when assembly fails
	if err != nil {
		return err
	}
	pages, err := web.New(web.Config{
		Store: a.store, Hasher: cfg.Hasher, Issuer: cfg.Issuer, CallbackURL: op.CallbackURL,
		Now: cfg.Now, Sessions: sessions,
		CSRFKey: cfg.CSRFKey, Logger: cfg.Logger,
		Throttle:   web.ThrottleConfig{TrustedProxies: cfg.TrustedProxies},
		Events:     a.metrics,
		Appearance: cfg.Appearance,
		Pending:    sealer,
		// Second factors (issue 17): TOTP secrets sealed with the
		// key-encryption keys, like signing keys.
		FactorKeys:       cfg.KEK,
		AdminsRequireMFA: cfg.AdminsRequireMFA,
		Mail:             webMail(mail),
		DeviceFlow:       cfg.DeviceFlow,
		Registration:     cfg.Registration,
		Connectors:       upstreams,
	})
	if err != nil {
		return err
	}
	var _ op.StepUpper = pages // step-up asks only the missing factor
	provider, err := op.New(op.Config{
		Issuer: cfg.Issuer, Store: a.store, Keys: k, Browser: pages, Sessions: sessions, Now: cfg.Now,
		Logger:              cfg.Logger,
		AccessTokenAlg:      jose.SignatureAlgorithm(cfg.AccessTokenAlg),
		RefreshReuseGrace:   storage.ReuseGrace{Window: cfg.RefreshReuseGrace, MaxReuses: cfg.RefreshReuseMax},
		Events:              a.metrics,
		UILocales:           i18n.Catalogs().Supported(),
		Pending:             sealer,
		Codes:               codes,
		AdminsRequireMFA:    cfg.AdminsRequireMFA,
		DeviceFlow:          cfg.DeviceFlow,
		DeviceInterval:      cfg.DeviceInterval,
		PrivateKeyJWT:       cfg.PrivateKeyJWT,
		PAR:                 cfg.PAR,
		DPoP:                cfg.DPoP,
		DPoPNonce:           cfg.DPoPNonce,
		DPoPNonceKey:        dpopNonceKey(cfg.CSRFKey),
		TokenExchange:       cfg.TokenExchange,
		DynamicRegistration: cfg.DynamicRegistration,
		AllowPrivateJWKS:    cfg.BackchannelAllowPrivateNetworks,
	})
	if err != nil {
		return err
	}
	worker, err = op.NewWorker(op.WorkerConfig{
		Issuer: provider.Issuer(), Store: a.store, Keys: k, Sessions: sessions, Now: cfg.Now,
		Logger:               cfg.Logger,
		AllowPrivateNetworks: cfg.BackchannelAllowPrivateNetworks,
		Events:               a.metrics,
	})
	if err != nil {
		return err
	}
	a.worker = worker
	a.janitor, err = janitor.New(janitor.Config{Store: a.store, Now: cfg.Now, Logger: cfg.Logger,
		AuditRetention: cfg.AuditRetention})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	pages.Routes(mux)
	provider.Routes(mux)
	console, err := admin.New(admin.Config{Pages: pages, Store: a.store, Issuer: cfg.Issuer, Now: cfg.Now,
		Sessions: sessions, Hasher: cfg.Hasher, Logger: cfg.Logger, FreshAuth: cfg.AdminFreshAuth,
		AllowPrivateBackchannel: cfg.BackchannelAllowPrivateNetworks})
	if err != nil {
		return err
	}
	console.Routes(mux) // the admin console, /admin
	// The admin API, /admin/api/v1 (issue 20).
	if err := a.adminAPI(mux, provider, pages, sessions, k); err != nil {
		return err
	}
	if devMail != nil {
		mux.Handle("GET /dev/mail", devMailPage(devMail)) // --dev only
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.Fail(w, r, &web.PublicError{Status: http.StatusNotFound, Title: "error.home.title",
			Detail: "error.home.detail"})
	})
	// Bad characters are refused before any handler or store sees them
	// (issue #13 item 6); the OAuth endpoints answer them in JSON.
	guarded := pages.GuardInput(routed(mux), func(r *http.Request) bool {
		switch r.URL.Path {
		case op.PathToken, op.PathRevocation, op.PathIntrospection, op.PathUserinfo:
			return true
		}
		return strings.HasPrefix(r.URL.Path, adminapi.Prefix+"/")
	})
	h := web.BaseHeaders(guarded) // checklist S9
	if strings.HasPrefix(cfg.Issuer, "https://") {
		h = web.StrictTransportSecurity(h) // checklist S9: every response
	}
	h = withRequestID(h)
	a.handler = a.metrics.middleware(h, func(r *http.Request) string {
		_, pattern := mux.Handler(r)
		return pattern
	})
	a.mgmt.keysReady = k.Ready

	a.runner.Add("keys", func(ctx context.Context) { k.Run(ctx, cfg.Logger) })
	a.runner.Add("worker", worker.Run)
	a.runner.Add("janitor", a.janitor.Run)
	if mail != nil {
		a.runner.Add("mail", mail.Run)
	}
	return nil
}

// Run starts the background jobs (signing-key refresh and rotation,
// back-channel logout delivery and session sweep, janitor) and blocks
// until ctx ends or Close is called; then it stops them and returns once
// all have returned.
func (a *App) Run(ctx context.Context) error {
	if err := a.runner.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-a.runner.Done():
	}
	a.runner.Stop()
	return nil
}

// Close stops the background jobs, waiting until every one has returned
// (so nothing writes to the store after it), and closes the store if New
// opened it. It may be called more than once.
func (a *App) Close() error {
	a.runner.Stop()
	a.closeOnce.Do(a.closeStore)
	return nil
}

// closeStore closes the directory connectors' pools and then the store
// if New opened it.
func (a *App) closeStore() {
	for _, c := range a.closers {
		_ = c() // closing idle directory connections cannot fail in a way worth reporting
	}
	a.closers = nil
	if a.owned != nil {
		a.owned()
	}
}

// Handler is the public HTTP handler: protocol endpoints, sign-in pages
// and the admin console, with request ids, base headers and metrics.
func (a *App) Handler() http.Handler { return a.handler }

// ManagementHandler serves /healthz, /readyz, /metrics and, when
// configured, /debug/pprof/: for the management listener only.
func (a *App) ManagementHandler() http.Handler { return a.mgmt.handler() }

// Drain makes /readyz answer 503 from now on (shutdown has begun).
func (a *App) Drain() { a.mgmt.drain() }

// Store returns the store the application runs on.
func (a *App) Store() storage.Store { return a.store }

// Keys returns the signing keys.
func (a *App) Keys() *keys.Keys { return a.keys }

// Worker returns the back-channel logout and session-sweep worker, whose
// Step tests call instead of running it.
func (a *App) Worker() *op.Worker { return a.worker }

// Janitor returns the janitor, whose Step tests call instead of running it.
func (a *App) Janitor() *janitor.Janitor { return a.janitor }

// Jobs returns the names of the background jobs Run starts.
func (a *App) Jobs() []string { return a.runner.Names() }

// Logger returns the application's logger.
func (a *App) Logger() *slog.Logger { return a.cfg.Logger }

// NewHasher returns the argon2id hasher with OWASP parameters, allowing
// as many concurrent hashes as there are CPUs (each needs 19 MiB).
func NewHasher() *password.Hasher {
	return password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
}

// newKeys loads the signing keys for the provider and makes sure every
// supported algorithm has a current key, so a client may register any of
// them as its id_token_signed_response_alg. A key that the configured
// secrets cannot decrypt fails it, before anything is written.
func newKeys(ctx context.Context, store storage.SigningKeys, cfg Config) (*keys.Keys, error) {
	k := keys.New(store, cfg.KEK, cfg.Now)
	if err := k.SetPolicy(KeyPolicy(cfg)); err != nil {
		return nil, err
	}
	if err := k.Ensure(ctx, keys.SupportedAlgorithms...); err != nil {
		return nil, err
	}
	return k, nil
}

// KeyPolicy is the rotation schedule for the configuration. Retired keys
// stay published for at least the SSO session max age: for that long an
// ID token they signed can come back as the id_token_hint that ends its
// session (RP-Initiated Logout §2), which is longer than any token lives.
// The CLI uses the same policy as the servers, so a retirement made by
// `keys rotate` gets the same RemoveAfter.
func KeyPolicy(cfg Config) keys.RotationPolicy {
	cfg = cfg.withDefaults()
	return keys.RotationPolicy{Period: cfg.KeyRotationPeriod,
		Retention: max(keys.DefaultKeyRetention, cfg.SessionMaxAge)}
}

// deriveKey derives a purpose-specific key from the first key-encryption
// secret, so replicas sharing the secret share e.g. the CSRF key.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("monban " + purpose))
	return m.Sum(nil)
}

// errNoStore is New's complaint when it has neither a store nor a URL.
var errNoStore = errors.New("app: neither Store nor DatabaseURL is set")

// dpopNonceKey keys the DPoP server nonces: derived from csrfKey for this
// purpose only, so replicas accept each other's nonces, or nil (random
// per process, op.Config.DPoPNonceKey) without one.
func dpopNonceKey(csrfKey []byte) []byte { return purposeKey(csrfKey, "monban dpop nonce") }

// pendingKey is the key that seals pending authorization requests: derived
// from csrfKey (itself deriveKey(secret, "csrf")) for this purpose only,
// or random per process when csrfKey is nil, like the CSRF key.
func pendingKey(csrfKey []byte) []byte { return sealKey(csrfKey, "monban pending auth request") }

// codeKey is the key that seals the authorization codes of SSO answers
// (pending.CodeSealer), derived as pendingKey but with a label of its
// own, so that neither key opens the other's values.
func codeKey(csrfKey []byte) []byte { return sealKey(csrfKey, "monban authorization code") }

// sealKey is purposeKey(csrfKey, label), or a random key per process
// when csrfKey is nil.
func sealKey(csrfKey []byte, label string) []byte {
	if k := purposeKey(csrfKey, label); k != nil {
		return k
	}
	k := make([]byte, pending.KeySize)
	_, _ = rand.Read(k) // never fails (Go 1.24+)
	return k
}

// purposeKey is the HMAC-SHA256 of label under csrfKey, a key for that
// purpose only, or nil when csrfKey is nil.
func purposeKey(csrfKey []byte, label string) []byte {
	if csrfKey == nil {
		return nil
	}
	m := hmac.New(sha256.New, csrfKey)
	m.Write([]byte(label))
	return m.Sum(nil)
}
