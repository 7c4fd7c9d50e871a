package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/static"
	"github.com/monban-idp/monban/web/view"
)

// Store is the part of storage.Store the browser pages use.
type Store interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetUserByUsername(ctx context.Context, username string) (*storage.User, error)
	UpdateUser(ctx context.Context, u *storage.User) error
	GetClient(ctx context.Context, id string) (*storage.Client, error)
	GetAuthRequest(ctx context.Context, id string) (*storage.AuthRequest, error)
	AuthenticateAuthRequest(ctx context.Context, id string, res storage.AuthResult) error
	SetAuthRequestConsent(ctx context.Context, id string, granted bool) error
	CreateSession(ctx context.Context, s *storage.Session) error
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (*storage.Session, error)
	GetSessionWithUser(ctx context.Context, tokenHash string) (*storage.Session, *storage.User, error)
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	RenewSession(ctx context.Context, id, newTokenHash string, authTime time.Time, amr []string) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	SaveConsent(ctx context.Context, c *storage.Consent) error
	// Sign-in throttling counters (checklist S10).
	storage.LoginThrottles
	// The audit trail of security events (sign-ins, lockouts, consent).
	storage.AuditLog
}

// Every storage.Store is a Store.
var _ Store = storage.Store(nil)

// PasswordHasher verifies and creates password hashes (argon2id PHC
// strings; package storage/password implements it).
type PasswordHasher interface {
	// Verify reports whether password matches phc, and whether phc should
	// be replaced by a fresh Hash because its parameters are outdated.
	Verify(password, phc string) (ok, needsRehash bool, err error)
	// VerifyDummy spends the same effort as Verify on a hash that matches
	// nothing, so unknown users cannot be told apart by timing.
	VerifyDummy(password string)
	// Hash returns a new PHC string for password.
	Hash(password string) (string, error)
}

// Default session lifetimes (security checklist S5).
const (
	DefaultSessionIdleTimeout = time.Hour
	DefaultSessionMaxAge      = 12 * time.Hour
)

// Config configures the browser pages. Store, Hasher, Issuer and
// CallbackURL are required.
type Config struct {
	Store  Store
	Hasher PasswordHasher
	// Issuer is the provider's issuer URL, e.g. http://localhost:8080 or
	// https://id.example.com. With https, cookies are Secure and use the
	// __Host- prefix, and pages send Strict-Transport-Security.
	Issuer string
	// CallbackURL returns where the browser continues after signing in or
	// answering the consent page (op's authorization callback).
	CallbackURL func(authRequestID string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionIdleTimeout ends a session after this long without use; zero
	// means DefaultSessionIdleTimeout.
	SessionIdleTimeout time.Duration
	// SessionMaxAge is the absolute lifetime of a session; zero means
	// DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// CSRFKey signs CSRF tokens. It must be at least 32 bytes and the same
	// on every replica behind one issuer; nil means a random per-process
	// key (fine for a single process: forms opened before a restart then
	// fail once with a readable 403).
	CSRFKey []byte
	// Logger receives security events (one line per audit entry, see
	// storage.AuditRecorder) and failures; nil means slog.Default().
	Logger *slog.Logger
	// Sessions ends a session when the person confirms a sign-out (POST
	// /logout). Without it, sign-out confirmation answers 503.
	Sessions SessionEnder
	// Throttle limits sign-in attempts (checklist S10); zero policies take
	// DefaultThrottle's.
	Throttle ThrottleConfig
	// Events receives sign-in outcomes (metrics); nil: none.
	Events Events
	// Appearance is the pages' default language, time zone and brand;
	// the zero value is English, UTC and monban's own brand.
	Appearance Appearance
}

// Appearance is how the pages look and speak, from the configuration.
type Appearance struct {
	// DefaultLocale is the pages' language when neither the request's
	// ui_locales, the person's pick nor Accept-Language decides: one of
	// i18n.Catalogs().Supported(); "" means English.
	DefaultLocale string
	// TimeZone is the zone times on pages are shown in; nil means UTC.
	TimeZone *time.Location
	// Brand dresses every page; the zero value is monban's own.
	Brand Brand
}

// Handler serves the browser pages. Create it with New.
type Handler struct {
	store       Store
	hasher      PasswordHasher
	callback    func(string) string
	now         func() time.Time
	idle        time.Duration
	maxAge      time.Duration
	log         *slog.Logger
	secure      bool // issuer is https
	sessionName string
	csrfName    string
	csrfKey     []byte
	crossOrigin *http.CrossOriginProtection
	sessions    SessionEnder
	throttle    ThrottleConfig
	events      Events
	audit       *storage.AuditRecorder // writes to store and log
	cspReports  cspReportLimiter       // bounds the log lines of CSP reports
	defaultLang string
	zone        *time.Location
	langName    string // the language switch's cookie
	brand       view.Brand
	brandFiles  *brandAssets
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("web: Store is required"))
	}
	if cfg.Hasher == nil {
		errs = append(errs, errors.New("web: Hasher is required"))
	}
	if cfg.CallbackURL == nil {
		errs = append(errs, errors.New("web: CallbackURL is required"))
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" {
		errs = append(errs, fmt.Errorf("web: Issuer %q must be an absolute http or https URL", cfg.Issuer))
	}
	if cfg.CSRFKey != nil && len(cfg.CSRFKey) < 32 {
		errs = append(errs, errors.New("web: CSRFKey must be at least 32 bytes"))
	}
	if cfg.SessionIdleTimeout < 0 || cfg.SessionMaxAge < 0 {
		errs = append(errs, errors.New("web: session timeouts must not be negative"))
	}
	throttle, err := cfg.Throttle.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Appearance.DefaultLocale != "" && !i18n.Catalogs().Supports(cfg.Appearance.DefaultLocale) {
		errs = append(errs, fmt.Errorf("web: DefaultLocale %q must be one of %s", cfg.Appearance.DefaultLocale,
			strings.Join(i18n.Catalogs().Supported(), ", ")))
	}
	brand, err := cfg.Appearance.Brand.load()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := &Handler{
		events:   cfg.Events,
		store:    cfg.Store,
		hasher:   cfg.Hasher,
		callback: cfg.CallbackURL,
		now:      cfg.Now,
		idle:     cfg.SessionIdleTimeout,
		maxAge:   cfg.SessionMaxAge,
		log:      cfg.Logger,
		secure:   iss.Scheme == "https",
		csrfKey:  append([]byte(nil), cfg.CSRFKey...),
		sessions: cfg.Sessions,
		throttle: throttle,

		defaultLang: cfg.Appearance.DefaultLocale,
		zone:        cfg.Appearance.TimeZone,
		brand:       brand.view,
		brandFiles:  brand,
	}
	if h.defaultLang == "" {
		h.defaultLang = i18n.Default
	}
	if h.zone == nil {
		h.zone = time.UTC
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.idle == 0 {
		h.idle = DefaultSessionIdleTimeout
	}
	if h.maxAge == 0 {
		h.maxAge = DefaultSessionMaxAge
	}
	if h.events == nil {
		h.events = noEvents{}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.audit = &storage.AuditRecorder{Log: h.store, Logger: h.log, Now: h.now}
	if len(h.csrfKey) == 0 {
		h.csrfKey = make([]byte, 32)
		_, _ = rand.Read(h.csrfKey)
	}
	h.sessionName, h.csrfName, h.langName = "monban_session", "monban_csrf", "monban_lang"
	if h.secure {
		h.sessionName, h.csrfName, h.langName = "__Host-"+h.sessionName, "__Host-"+h.csrfName, "__Host-"+h.langName
	}
	h.crossOrigin = http.NewCrossOriginProtection()
	h.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.WarnContext(r.Context(), "cross-origin form post refused",
			"path", r.URL.Path, "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "origin", r.Header.Get("Origin"))
		h.renderFormExpired(w, r)
	}))
	return h, nil
}

// Routes registers the browser pages on mux: GET and POST /login, GET and
// POST /consent, POST /logout (the sign-out confirmation, see
// ConfirmLogout), GET /logged-out, GET /lang (the language switch),
// GET /brand/ (the brand's logo and stylesheet) and GET /static/.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /login", h.page(http.HandlerFunc(h.getLogin)))
	mux.Handle("POST /login", h.page(h.crossOrigin.Handler(http.HandlerFunc(h.postLogin))))
	mux.Handle("GET /consent", h.page(http.HandlerFunc(h.getConsent)))
	mux.Handle("POST /consent", h.page(h.crossOrigin.Handler(http.HandlerFunc(h.postConsent))))
	mux.Handle("POST /logout", h.page(h.crossOrigin.Handler(http.HandlerFunc(h.postLogout))))
	mux.Handle("GET /logged-out", h.page(http.HandlerFunc(h.getLoggedOut)))
	mux.Handle("GET "+static.Prefix, h.hsts(static.Handler()))
	mux.Handle("GET "+view.SwitchPath, h.hsts(http.HandlerFunc(h.switchLang)))
	mux.Handle("GET /brand/", h.hsts(http.HandlerFunc(h.serveBrand)))
	mux.Handle("POST "+CSPReportPath, h.hsts(http.HandlerFunc(h.cspReport)))
}

// LoginURL returns the sign-in page for the pending authorization request.
func (h *Handler) LoginURL(authRequestID string) string {
	return "/login?id=" + url.QueryEscape(authRequestID)
}

// ConsentURL returns the consent page for the pending authorization request.
func (h *Handler) ConsentURL(authRequestID string) string {
	return "/consent?id=" + url.QueryEscape(authRequestID)
}

// page wraps an HTML page handler with the security headers (and HSTS when
// the issuer is https) and chooses the page's language.
func (h *Handler) page(next http.Handler) http.Handler {
	return h.hsts(SecurityHeaders(h.localize(next)))
}

func (h *Handler) hsts(next http.Handler) http.Handler {
	if !h.secure {
		return next
	}
	return StrictTransportSecurity(next)
}
