package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web/connector/accounts"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/session"
	"github.com/monban-idp/monban/web/static"
	"github.com/monban-idp/monban/web/view"
)

// Store is the part of storage.Store the browser pages use.
type Store interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetUserByUsername(ctx context.Context, username string) (*storage.User, error)
	SetPasswordHash(ctx context.Context, id, oldHash, newHash string) error
	GetClient(ctx context.Context, id string) (*storage.Client, error)
	GetAuthRequest(ctx context.Context, id string) (*storage.AuthRequest, error)
	SetAuthRequestConsent(ctx context.Context, id string, granted bool) error
	SaveConsent(ctx context.Context, c *storage.Consent) error
	ListUsersPage(ctx context.Context, q storage.UserQuery) ([]*storage.User, error)
	// Self-service (issue 16): the mail outbox, the tokens in links, and
	// changes that commit together.
	storage.Outbox
	storage.UserTokens
	storage.Atomic
	// Sign-in throttling counters (checklist S10).
	storage.LoginThrottles
	// The audit trail of security events (sign-ins, lockouts, consent).
	storage.AuditLog
	// Second factors (issue 17).
	storage.Factors
	// Passkeys and security keys (issue 17).
	storage.WebAuthnCredentials
	// The account page (issue 16): the person's sessions, the apps they
	// signed in to, and its internal sign-in client.
	ListUserSessions(ctx context.Context, userID string) ([]*storage.Session, error)
	GetSession(ctx context.Context, id string) (*storage.Session, error)
	ListUserRefreshClients(ctx context.Context, userID string, now time.Time) ([]string, error)
	ListUserConsents(ctx context.Context, userID string) ([]*storage.Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error
	RevokeUserClientRefreshTokens(ctx context.Context, userID, clientID string, at time.Time) error
	RevokeSessionRefreshTokens(ctx context.Context, sessionID string, keepOffline bool, at time.Time) error
	CreateClient(ctx context.Context, c *storage.Client) error
	UpdateClient(ctx context.Context, id string, fn func(*storage.Client) error) (*storage.Client, error)
	// Upstream sign-in (issue 18): linked identities, just-in-time
	// users, group synchronisation, and storing a sealed request too
	// long for the upstream cookie.
	accounts.Store
	CreateAuthRequest(ctx context.Context, r *storage.AuthRequest) error
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
	// Sessions owns the single sign-on session (cookie, lookup, renewal,
	// ending). nil means one over Store with the session package's
	// defaults, which needs a Store that is a session.Store (tests); the
	// binary passes the one it also hands to the provider.
	Sessions *session.Manager
	// CSRFKey signs CSRF tokens. It must be at least 32 bytes and the same
	// on every replica behind one issuer; nil means a random per-process
	// key (fine for a single process: forms opened before a restart then
	// fail once with a readable 403).
	CSRFKey []byte
	// Logger receives security events (one line per audit entry, see
	// storage.AuditRecorder) and failures; nil means slog.Default().
	Logger *slog.Logger
	// Throttle limits sign-in attempts (checklist S10); zero policies take
	// DefaultThrottle's.
	Throttle ThrottleConfig
	// Events receives sign-in outcomes (metrics); nil: none.
	Events Events
	// Pending opens the sealed authorization requests the provider sends
	// to the sign-in page instead of storing them (op.Config.Pending, the
	// same Sealer); the request is stored once sign-in succeeds. nil:
	// only stored requests are accepted.
	Pending *pending.Sealer
	// FactorKeys seal TOTP secrets at rest (the key-encryption keys);
	// nil: second factors cannot be enrolled or used.
	FactorKeys SecretSealer
	// AdminsRequireMFA makes administrators sign in with a second factor
	// (and enrol one first when they have none).
	AdminsRequireMFA bool
	// Appearance is the pages' default language, time zone and brand;
	// the zero value is English, UTC and monban's own brand.
	Appearance Appearance
	// Mail turns on the pages that send mail (forgotten password).
	Mail MailConfig
	// DeviceFlow serves the user-code page of the device authorization
	// grant (device.go); Store must then be a DeviceStore.
	DeviceFlow bool
	// Registration turns on self-registration (needs Mail); off by
	// default.
	Registration RegistrationConfig
	// Connectors are the upstream identity providers offered on the
	// sign-in page, in this order (issue 18; federation.go).
	Connectors []Connector
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
	store        Store
	hasher       PasswordHasher
	callback     func(string) string
	now          func() time.Time
	log          *slog.Logger
	secure       bool // issuer is https
	csrfName     string
	csrfKey      []byte
	crossOrigin  *http.CrossOriginProtection
	sessions     *session.Manager
	flow         *session.Flow // identify → authenticate → back to the callback
	throttle     ThrottleConfig
	refusals     refusalSampler // which throttled attempts are audited
	events       Events
	pending      *pending.Sealer        // opens sealed requests; nil: none
	audit        *storage.AuditRecorder // writes to store and log
	cspReports   cspReportLimiter       // bounds the log lines of CSP reports
	defaultLang  string
	zone         *time.Location
	langName     string // the language switch's cookie
	brand        view.Brand
	brandFiles   *brandAssets
	factorKeys   SecretSealer // nil: no second factors
	adminsMFA    bool
	issuerHost   string             // the TOTP issuer label and the WebAuthn RP ID
	issuer       string             // for the absolute links in mails
	mail         MailConfig         // self-service mail (issue 16)
	devices      DeviceStore        // the user-code page's store; nil: no device flow
	passkeys     *webauthn.WebAuthn // nil: passkeys off (an IP-address issuer)
	registration RegistrationConfig
	// Upstream identity providers (federation.go): by ID, the buttons in
	// the configured order, the directories that check the sign-in
	// form's password in the configured order (login_directory.go), and
	// the one resolution of their identities.
	connectors     map[string]*Connector
	connectorOrder []*Connector
	directories    []*Connector
	accounts       *accounts.Resolver
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
	throttle, err := cfg.Throttle.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Appearance.DefaultLocale != "" && !i18n.Catalogs().Supports(cfg.Appearance.DefaultLocale) {
		errs = append(errs, fmt.Errorf("web: DefaultLocale %q must be one of %s", cfg.Appearance.DefaultLocale,
			strings.Join(i18n.Catalogs().Supported(), ", ")))
	}
	if err := cfg.Registration.check(); err != nil {
		errs = append(errs, err)
	}
	brand, err := cfg.Appearance.Brand.load()
	if err != nil {
		errs = append(errs, err)
	}
	devices, _ := cfg.Store.(DeviceStore)
	if cfg.DeviceFlow && devices == nil {
		errs = append(errs, errors.New("web: DeviceFlow needs a Store that is a DeviceStore"))
	}
	if !cfg.DeviceFlow {
		devices = nil
	}
	connectors := make(map[string]*Connector, len(cfg.Connectors))
	var connectorOrder, directories []*Connector
	for i := range cfg.Connectors {
		c := cfg.Connectors[i]
		switch {
		case c.ID == "" || (c.Redirector == nil) == (c.Password == nil):
			errs = append(errs, fmt.Errorf("web: connector %d needs an ID and either a Redirector or a Password checker", i))
		case connectors[c.ID] != nil:
			errs = append(errs, fmt.Errorf("web: connector %q appears twice", c.ID))
		case c.Password != nil:
			connectors[c.ID] = &c
			directories = append(directories, &c)
		default:
			connectors[c.ID] = &c
			connectorOrder = append(connectorOrder, &c)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := &Handler{
		connectors:     connectors,
		connectorOrder: connectorOrder,
		directories:    directories,
		devices:        devices,
		events:         cfg.Events,
		store:          cfg.Store,
		hasher:         cfg.Hasher,
		callback:       cfg.CallbackURL,
		now:            cfg.Now,
		log:            cfg.Logger,
		secure:         iss.Scheme == "https",
		csrfKey:        append([]byte(nil), cfg.CSRFKey...),
		sessions:       cfg.Sessions,
		throttle:       throttle,
		pending:        cfg.Pending,

		defaultLang:  cfg.Appearance.DefaultLocale,
		zone:         cfg.Appearance.TimeZone,
		brand:        brand.view,
		brandFiles:   brand,
		factorKeys:   cfg.FactorKeys,
		adminsMFA:    cfg.AdminsRequireMFA,
		issuerHost:   iss.Hostname(),
		issuer:       cfg.Issuer,
		mail:         cfg.Mail,
		passkeys:     newPasskeys(iss, brand.view.Name),
		registration: cfg.Registration,
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
	if h.events == nil {
		h.events = noEvents{}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.audit = &storage.AuditRecorder{Log: h.store, Logger: h.log, Now: h.now}
	h.accounts = &accounts.Resolver{Store: h.store, Now: h.now}
	if len(h.csrfKey) == 0 {
		h.csrfKey = make([]byte, 32)
		_, _ = rand.Read(h.csrfKey)
	}
	h.csrfName, h.langName = "monban_csrf", "monban_lang"
	if h.secure {
		h.csrfName, h.langName = "__Host-"+h.csrfName, "__Host-"+h.langName
	}
	if h.sessions == nil {
		st, ok := cfg.Store.(session.Store)
		if !ok {
			return nil, errors.New("web: Sessions is required unless Store is a session.Store")
		}
		if h.sessions, err = session.New(session.Config{Store: st, Issuer: cfg.Issuer, Now: h.now, Logger: h.log}); err != nil {
			return nil, err
		}
	}
	// The sign-in steps: today the password step, which identifies and
	// authenticates at once. A second factor or an upstream identity
	// provider is another Step here, with its page in Routes.
	h.flow, err = session.NewFlow(session.FlowConfig{
		Sessions: h.sessions,
		Steps:    []session.Step{passwordStep{}, factorStep{h}},
		Callback: h.flowCallback, // device sign-ins go to their confirmation (device.go)
		Key:      derive(h.csrfKey, "monban sign-in flow"),
		Pending:  cfg.Pending,
		// Sessions record the address the sign-in throttle counts.
		ClientAddr: h.clientAddr,
	})
	if err != nil {
		return nil, err
	}
	h.crossOrigin = http.NewCrossOriginProtection()
	h.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.WarnContext(r.Context(), "cross-origin form post refused",
			"path", r.URL.Path, "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "origin", r.Header.Get("Origin"))
		h.Fail(w, r, errFormExpired())
	}))
	return h, nil
}

// Routes registers the browser pages on mux: GET and POST /login, GET and
// POST /consent, GET and POST /select-account (the account page of
// prompt=select_account), POST /logout (the sign-out confirmation, see
// ConfirmLogout), GET /logged-out, GET /lang (the language switch),
// GET /brand/ (the brand's logo and stylesheet), GET /static/ and, with
// DeviceFlow, GET and POST /device and /device/confirm (device.go).
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET "+loginPath, h.page(h.serve(h.getLogin)))
	mux.Handle("POST "+loginPath, h.page(h.crossOrigin.Handler(h.serve(h.postLogin))))
	h.factorRoutes(mux)
	mux.Handle("POST "+passkeyLoginPath, h.page(h.crossOrigin.Handler(h.serve(h.postPasskeyLogin))))
	mux.Handle("GET /consent", h.page(h.serve(h.getConsent)))
	mux.Handle("POST /consent", h.page(h.crossOrigin.Handler(h.serve(h.postConsent))))
	mux.Handle("GET "+selectAccountPath, h.page(h.serve(h.getSelectAccount)))
	mux.Handle("POST "+selectAccountPath, h.page(h.crossOrigin.Handler(h.serve(h.postSelectAccount))))
	if h.devices != nil {
		mux.Handle("GET "+devicePath, h.page(h.serve(h.getDevice)))
		mux.Handle("POST "+devicePath, h.page(h.crossOrigin.Handler(h.serve(h.postDevice))))
		mux.Handle("GET "+deviceConfirmPath, h.page(h.serve(h.getDeviceConfirm)))
		mux.Handle("POST "+deviceConfirmPath, h.page(h.crossOrigin.Handler(h.serve(h.postDeviceConfirm))))
	}
	mux.Handle("POST /logout", h.page(h.crossOrigin.Handler(h.serve(h.postLogout))))
	mux.Handle("GET /logged-out", h.page(h.serve(h.getLoggedOut)))
	mux.Handle("GET "+static.Prefix, h.hsts(static.Handler()))
	mux.Handle("GET "+view.SwitchPath, h.hsts(http.HandlerFunc(h.switchLang)))
	mux.Handle("GET /brand/", h.hsts(http.HandlerFunc(h.serveBrand)))
	mux.Handle("POST "+CSPReportPath, h.hsts(http.HandlerFunc(h.cspReport)))
	h.accountRoutes(mux)
	h.connectorRoutes(mux)
	if h.mail.Enabled {
		h.recoveryRoutes(mux)
		if h.registration.on() {
			h.registerRoutes(mux)
		}
	}
}

// SignInURL returns the first step of the sign-in flow for the pending
// authorization request (the sign-in page).
func (h *Handler) SignInURL(authRequestID string) string {
	return h.flow.Start(authRequestID)
}

// Sessions returns the session owner the pages use.
func (h *Handler) Sessions() *session.Manager { return h.sessions }

// derive returns a purpose-specific key derived from key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
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
