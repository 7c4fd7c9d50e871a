package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Default lifetimes of a session (security checklist S5).
const (
	DefaultIdleTimeout = time.Hour
	DefaultMaxAge      = 12 * time.Hour
)

// touchInterval limits how often Current writes LastSeenAt.
const touchInterval = time.Minute

// cookieBase is the session cookie's name without the __Host- prefix.
const cookieBase = "monban_session"

// Store is the part of storage.Store the session owner uses.
type Store interface {
	CreateSession(ctx context.Context, s *storage.Session) error
	GetSession(ctx context.Context, id string) (*storage.Session, error)
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (*storage.Session, error)
	GetSessionWithUserActive(ctx context.Context, tokenHash string) (*storage.Session, bool, error)
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	RenewSession(ctx context.Context, id, newTokenHash string, authTime time.Time, amr []string) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error)
	EndSession(ctx context.Context, id string, at time.Time) (int, error)
	ListSessionsToEnd(ctx context.Context, now time.Time, idle time.Duration, limit int) ([]*storage.Session, error)
	RevokeSessionRefreshTokens(ctx context.Context, sessionID string, keepOffline bool, at time.Time) error
	RevokeUserRefreshTokens(ctx context.Context, userID string, at time.Time) error
	AuthenticateAuthRequest(ctx context.Context, id string, res storage.AuthResult) error
	CreateAuthRequest(ctx context.Context, r *storage.AuthRequest) error // a sealed request, at sign-in
	GetUser(ctx context.Context, id string) (*storage.User, error)
	storage.AuditLog
}

// Every storage.Store is a Store.
var _ Store = storage.Store(nil)

// Config configures a Manager. Only Store is required.
type Config struct {
	Store Store
	// Issuer is the provider's issuer URL. With https the cookie is Secure
	// and named with the __Host- prefix (RFC 6265bis §4.1.3.2). Empty is
	// for callers that only end sessions (the CLI).
	Issuer string
	// IdleTimeout ends a session after this long without use; zero means
	// DefaultIdleTimeout, negative is refused.
	IdleTimeout time.Duration
	// MaxAge is a session's absolute lifetime; zero means DefaultMaxAge.
	MaxAge time.Duration
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Notify, when set, is called after back-channel logout deliveries
	// were enqueued, so the local delivery worker sends them without
	// waiting for its next tick.
	Notify func()
}

// Manager owns the browser's single sign-on session: its cookie, lookup,
// renewal at sign-in, step-up bookkeeping, ending and sweeping. It is
// safe for concurrent use.
type Manager struct {
	store  Store
	secure bool
	cookie string
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
	log    *slog.Logger
	notify func()
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("session: Store is required"))
	}
	if cfg.IdleTimeout < 0 || cfg.MaxAge < 0 {
		errs = append(errs, errors.New("session: timeouts must not be negative"))
	}
	secure := false
	if cfg.Issuer != "" {
		u, err := url.Parse(cfg.Issuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("session: Issuer %q must be an absolute http or https URL", cfg.Issuer))
		} else {
			secure = u.Scheme == "https"
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m := &Manager{store: cfg.Store, secure: secure, cookie: cookieBase, idle: cfg.IdleTimeout,
		maxAge: cfg.MaxAge, now: cfg.Now, log: cfg.Logger, notify: cfg.Notify}
	if secure {
		m.cookie = "__Host-" + cookieBase
	}
	if m.idle == 0 {
		m.idle = DefaultIdleTimeout
	}
	if m.maxAge == 0 {
		m.maxAge = DefaultMaxAge
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// CookieName is the session cookie's name: __Host-monban_session on https
// issuers, monban_session otherwise.
func (m *Manager) CookieName() string { return m.cookie }

// IdleTimeout is the idle timeout every session check applies.
func (m *Manager) IdleTimeout() time.Duration { return m.idle }

// MaxAge is the absolute lifetime of a session.
func (m *Manager) MaxAge() time.Duration { return m.maxAge }

// Live reports whether s may still be used at now: not revoked, not past
// its absolute expiry, not idle longer than the idle timeout. Tokens bound
// to a session ask this too.
func (m *Manager) Live(s *storage.Session, now time.Time) bool {
	return s != nil && s.Active(now, m.idle)
}

// Current returns the browser's live single sign-on session. It returns
// (nil, nil) when there is no session cookie, or the cookie names no
// session, or the session is revoked, idle too long or past its absolute
// expiry, or its user is gone or disabled. An error means the store
// failed. Session and user are read in one round trip; LastSeenAt is
// refreshed at most once a minute.
func (m *Manager) Current(r *http.Request) (*storage.Session, error) {
	c, err := r.Cookie(m.cookie)
	if err != nil || !WellFormedToken(c.Value) {
		return nil, nil
	}
	ctx := r.Context()
	s, userActive, err := m.store.GetSessionWithUserActive(ctx, storage.HashToken(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: look up: %w", err)
	}
	now := m.now().UTC()
	// A disabled user's sessions are revoked when they are disabled; the
	// user is checked here too, so no page or SSO answer can rely on a
	// session whose revocation raced with that (OIDC Core §3.1.2.1).
	if !m.Live(s, now) || !userActive {
		return nil, nil
	}
	if now.Sub(s.LastSeenAt) >= touchInterval {
		err := m.store.TouchSession(ctx, s.ID, now)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("session: touch: %w", err)
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// Clear expires the session cookie in the browser. It does not revoke the
// server-side session; callers end it first.
func (m *Manager) Clear(w http.ResponseWriter) {
	m.setCookie(w, "", -1)
}

// setCookie sets the session cookie (checklist S1): HttpOnly,
// SameSite=Lax, Path=/, no Domain; Secure with the __Host- name on https.
// maxAge is in seconds; negative deletes the cookie.
func (m *Manager) setCookie(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.cookie,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   m.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// WellFormedToken reports whether v looks like storage.NewToken output:
// 43 characters of unpadded base64url. Anything else is not looked up.
func WellFormedToken(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
