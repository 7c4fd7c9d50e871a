package main

import (
	"context"
	"crypto/hmac"
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
	"github.com/monban-idp/monban/web"
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
}

// newApp composes the provider and the browser pages into one handler:
// the only place that knows both.
func newApp(ctx context.Context, cfg appConfig) (http.Handler, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hasher == nil {
		cfg.Hasher = newHasher()
	}
	keys := op.NewKeys(cfg.Store, cfg.KEK, cfg.Now)
	if err := keys.Ensure(ctx, jose.RS256); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	pages, err := web.New(web.Config{
		Store: cfg.Store, Hasher: cfg.Hasher, Issuer: cfg.Issuer, CallbackURL: op.CallbackURL,
		Now: cfg.Now, SessionIdleTimeout: cfg.SessionIdle, SessionMaxAge: cfg.SessionMaxAge,
		CSRFKey: cfg.CSRFKey, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	provider, err := op.New(op.Config{
		Issuer: cfg.Issuer, Store: cfg.Store, Keys: keys, Browser: pages, Now: cfg.Now,
		Logger: cfg.Logger, SessionIdleTimeout: cfg.SessionIdle,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	pages.Routes(mux)
	provider.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.RenderError(w, r, http.StatusNotFound, "monban sign-in service",
			"This is a sign-in service. Applications send you here when you sign in to them.")
	})
	if strings.HasPrefix(cfg.Issuer, "https://") {
		return web.StrictTransportSecurity(mux), nil // checklist S9: every response
	}
	return mux, nil
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
