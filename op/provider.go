package op

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

	"github.com/go-jose/go-jose/v4"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// Browser is what the provider needs from the browser-facing pages
// (package web): pages for people and the start of the sign-in flow.
type Browser interface {
	// Fail writes the error page for err (the adapter for people): an
	// error with a Public() (status, title, detail) method shows that
	// message (title and detail are catalog keys of the pages, web/i18n),
	// any other a generic one; the page carries the request id
	// as a reference. It logs err with the request's context.
	Fail(w http.ResponseWriter, r *http.Request, err error)
	// SignInURL is the first step of the sign-in flow (identify,
	// authenticate) for an authorization request, and ConsentURL its
	// consent page; both send the browser back to CallbackPath.
	SignInURL(authRequestID string) string
	ConsentURL(authRequestID string) string
	// SelectAccountURL is the account page for prompt=select_account
	// (OIDC Core §3.1.2.1): it shows who is signed in and either
	// continues the request with that session or starts the sign-in flow
	// for another account; both end at CallbackPath.
	SelectAccountURL(authRequestID string) string
	// ConfirmLogout renders the page that asks the person to confirm a
	// sign-out request that came without a valid id_token_hint
	// (RP-Initiated Logout 1.0 §6). client is the requesting client, or
	// nil; postLogoutRedirectURI is empty or already validated as one of
	// client's registered URIs; state is echoed there afterwards.
	ConfirmLogout(w http.ResponseWriter, r *http.Request, client *storage.Client, postLogoutRedirectURI, state string)
}

// Sessions is the browser's single sign-on session as the provider needs
// it; package web/session owns it, and the binary hands it over. The
// protocol decisions about it (prompt, max_age, id_token_hint) stay here.
type Sessions interface {
	// Current returns the live session of the request's cookie, or nil
	// when there is none (a session of a disabled or deleted user is
	// none). An error means the store failed.
	Current(r *http.Request) (*storage.Session, error)
	// Live reports whether a session tokens are bound to is still usable
	// at now (not revoked, expired or idle).
	Live(s *storage.Session, now time.Time) bool
	// IdleTimeout is the idle timeout Live applies (0: none), for checks
	// the store makes in the same statement as a write (the refresh
	// grant's rotation, storage.RefreshConditions).
	IdleTimeout() time.Duration
	// Clear expires the session cookie.
	Clear(w http.ResponseWriter)
	// EndSession ends a session: revoked, its refresh tokens revoked,
	// back-channel logout enqueued for every client it served.
	EndSession(ctx context.Context, sessionID, reason string) error
}

// Config configures a Provider. Zero durations take the defaults below.
type Config struct {
	Issuer  string // absolute URL without path, e.g. https://id.example.com
	Store   storage.Store
	Keys    *keys.Keys
	Browser Browser
	// Sessions is the SSO session owner (required).
	Sessions Sessions
	Now      func() time.Time
	Logger   *slog.Logger

	AuthRequestTTL  time.Duration // time a person has to sign in; default 30m
	CodeTTL         time.Duration // authorization code lifetime; default 60s (ASVS 10.4.3)
	AccessTokenTTL  time.Duration // default 5m (RFC 9068 tokens stay short)
	IDTokenTTL      time.Duration // default 5m (checklist J4)
	RefreshTokenTTL time.Duration // default 30 days, also the family's absolute lifetime
	// ClientCacheTTL is how long clients are cached (see
	// DefaultClientCacheTTL, the default); negative: no cache.
	ClientCacheTTL time.Duration
	// RefreshTokenIdleTTL ends a refresh token not used for this long,
	// however long its family may live (checklist T12, ASVS 10.4.8);
	// default 7 days.
	RefreshTokenIdleTTL time.Duration
	// AccessTokenAlg signs JWT access tokens; default DefaultAccessTokenAlg.
	// Keys must sign with it (Keys.Ensure).
	AccessTokenAlg jose.SignatureAlgorithm
	// RefreshReuseGrace is the optional grace window for refresh-token
	// reuse (off when zero; see storage.ReuseGrace).
	RefreshReuseGrace storage.ReuseGrace
	// LoggedOutPath is the page shown after a logout that does not redirect
	// back to a client; default "/logged-out".
	LoggedOutPath string
	// Events receives token and refresh-reuse events (metrics); nil: none.
	Events Events
	// UILocales are the BCP 47 tags of the languages the browser pages
	// speak in full, advertised as ui_locales_supported (OIDC Discovery
	// 1.0 §3); empty: the field is left out.
	UILocales []string
	// Pending seals an authorization request that needs a sign-in, so
	// that /authorize writes nothing to the store until someone signs in
	// (issue #13 item 7b): the sealed value is the request id the sign-in
	// pages get, and they store the request once sign-in succeeds. The
	// Browser must open values with the same key. nil: such requests are
	// stored at once, as before (tests that drive op without the pages).
	Pending *pending.Sealer
	// Codes seals the authorization code of a request answered at once
	// from a live SSO session (the fast path of authorize.go): the code
	// carries the request, so /authorize writes nothing and the token
	// endpoint consumes the code in its one statement (RedeemSealedCode,
	// issue #21). Its key must be its own, not Pending's. nil: such codes
	// are stored with their request, as before.
	Codes *pending.CodeSealer
	// AdminsRequireMFA makes administrators sign in with a second factor
	// (issue 17): their requests need acr.MFA.
	AdminsRequireMFA bool
	// DeviceFlow enables the device authorization grant (RFC 8628,
	// device.go): /device_authorization, the device_code grant and its
	// discovery entries; the user-code page PathDevice is the Browser's.
	DeviceFlow bool
	// DeviceCodeTTL and DeviceInterval: DefaultDeviceCodeTTL and
	// DefaultDeviceInterval when zero.
	DeviceCodeTTL  time.Duration
	DeviceInterval time.Duration
	// PrivateKeyJWT accepts client assertions (RFC 7523 §2.2) from
	// clients registered with private_key_jwt (assertion.go) and
	// advertises the method.
	PrivateKeyJWT bool
	// AllowPrivateJWKS lets jwks_uri documents be fetched from loopback
	// and private addresses (refused by default, like back-channel
	// logout).
	AllowPrivateJWKS bool
	// PAR enables pushed authorization requests (RFC 9126, par.go): the
	// /par endpoint, request_uri values it issued at /authorize, and its
	// discovery entry. Clients registered with RequirePAR are refused at
	// plain /authorize either way.
	PAR bool
	// DPoP enables DPoP (RFC 9449, dpop.go): proofs at the token endpoint
	// bind the access tokens (and a public client's refresh tokens) to the
	// client's key, UserInfo accepts the DPoP scheme, and discovery lists
	// dpop_signing_alg_values_supported. Clients registered with
	// DPoPBoundAccessTokens get no token without a proof either way.
	DPoP bool
	// DPoPNonce makes proofs carry a server nonce (RFC 9449 §8, §9):
	// missing or stale ones are answered use_dpop_nonce with a fresh one
	// in the DPoP-Nonce header.
	DPoPNonce bool
	// DPoPNonceKey keys the nonces (dpopNonces); replicas must share it.
	// nil: random per process.
	DPoPNonceKey []byte
	// DPoPProofWindow is how far a proof's iat may lie from now either
	// way; DefaultDPoPProofWindow when zero.
	DPoPProofWindow time.Duration
	// TokenExchange enables the token exchange grant (RFC 8693,
	// tokenexchange.go) for the clients registered for it, and its
	// discovery entry.
	TokenExchange bool
	// DynamicRegistration enables dynamic client registration and
	// management (RFC 7591, RFC 7592; register.go): /register, guarded by
	// initial access tokens, and registration_endpoint in discovery.
	DynamicRegistration bool
}

// Default lifetimes.
const (
	DefaultAuthRequestTTL  = 30 * time.Minute
	DefaultCodeTTL         = 60 * time.Second
	DefaultAccessTokenTTL  = 5 * time.Minute
	DefaultIDTokenTTL      = 5 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	// DefaultRefreshTokenIdleTTL is the refresh-token idle limit.
	DefaultRefreshTokenIdleTTL = 7 * 24 * time.Hour
)

// DefaultAccessTokenAlg signs access tokens unless configured otherwise.
// Resource servers must accept RS256 (RFC 9068 §2.1), but ES256 (RFC 7518
// §3.4) signs about 25 times faster than RSA-2048, with 128-bit rather than
// 112-bit security, and every token response carries an access token. ID
// tokens keep RS256 by default, as OIDC Core §15.1 requires.
const DefaultAccessTokenAlg = jose.ES256

// clockLeeway tolerates small clock differences on tokens we verify
// (RFC 7519 §4.1.4).
const clockLeeway = 30 * time.Second

// Paths of the provider's endpoints, relative to the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathJWKS          = "/jwks"
	PathAuthorize     = "/authorize"
	CallbackPath      = "/authorize/callback"
	PathToken         = "/token"
	PathUserinfo      = "/userinfo"
	PathEndSession    = "/end_session"
	PathRevocation    = "/revoke"     // RFC 7009
	PathIntrospection = "/introspect" // RFC 7662
	callbackIDParam   = "id"
	defaultIDTokAlg   = jose.RS256
	maxParamLength    = 2048
	maxFormBodyBytes  = 64 << 10
)

// Provider serves the OpenID Provider endpoints.
type Provider struct {
	cfg       Config
	issuer    string
	store     storage.Store
	keys      *keys.Keys
	browser   Browser
	now       func() time.Time
	log       *slog.Logger
	discovery []byte
	token     http.Handler
	sessions  Sessions
	verified  verifiedTokens // access tokens already verified (parseAccessToken)
	jwks      *jwksCache     // clients' jwks_uri documents (assertion.go)
	// dpopNonces makes the server nonces of DPoP proofs (dpop_nonce.go).
	dpopNonces dpopNonces
}

// New validates cfg and builds a Provider.
func New(cfg Config) (*Provider, error) {
	var errs []error
	u, err := url.Parse(cfg.Issuer)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		errs = append(errs, fmt.Errorf("issuer %q is not an absolute URL", cfg.Issuer))
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		errs = append(errs, fmt.Errorf("issuer %q must not have a path, query or fragment", cfg.Issuer))
	}
	if cfg.Store == nil || cfg.Keys == nil || cfg.Browser == nil || cfg.Sessions == nil {
		errs = append(errs, errors.New("op: Store, Keys, Browser and Sessions are required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	setDefault(&cfg.AuthRequestTTL, DefaultAuthRequestTTL)
	setDefault(&cfg.CodeTTL, DefaultCodeTTL)
	setDefault(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	setDefault(&cfg.IDTokenTTL, DefaultIDTokenTTL)
	setDefault(&cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	setDefault(&cfg.RefreshTokenIdleTTL, DefaultRefreshTokenIdleTTL)
	setDefault(&cfg.DeviceCodeTTL, DefaultDeviceCodeTTL)
	setDefault(&cfg.DeviceInterval, DefaultDeviceInterval)
	setDefault(&cfg.DPoPProofWindow, DefaultDPoPProofWindow)
	if cfg.DPoPNonceKey == nil {
		cfg.DPoPNonceKey = make([]byte, 32)
		_, _ = rand.Read(cfg.DPoPNonceKey) // never fails (Go 1.24+)
	}
	if cfg.AccessTokenAlg == "" {
		cfg.AccessTokenAlg = DefaultAccessTokenAlg
	}
	if err := checkKeys(cfg); err != nil {
		return nil, err
	}
	if cfg.LoggedOutPath == "" {
		cfg.LoggedOutPath = "/logged-out"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Provider{
		cfg:      cfg,
		issuer:   strings.TrimSuffix(cfg.Issuer, "/"),
		store:    cfg.Store,
		keys:     cfg.Keys,
		browser:  cfg.Browser,
		sessions: cfg.Sessions,
		now:      func() time.Time { return cfg.Now().UTC() },
		log:      cfg.Logger,
	}
	p.dpopNonces.key, p.dpopNonces.window = cfg.DPoPNonceKey, dpopNonceWindow
	p.jwks = &jwksCache{client: newBackchannelClient(cfg.AllowPrivateJWKS), now: p.now}
	cacheTTL := cfg.ClientCacheTTL
	if cacheTTL == 0 {
		cacheTTL = DefaultClientCacheTTL
	}
	p.store = newClientCache(cfg.Store, cacheTTL, p.now)
	if p.discovery, err = p.discoveryDocument(); err != nil {
		return nil, err
	}
	endpoints := zop.Endpoints{
		Token:         zop.NewEndpoint(PathToken),
		Revocation:    zop.NewEndpoint(PathRevocation),
		Introspection: zop.NewEndpoint(PathIntrospection),
	}
	if cfg.DeviceFlow {
		endpoints.DeviceAuthorization = zop.NewEndpoint(PathDeviceAuthorization)
	}
	p.token = zop.RegisterServer(&tokenServer{p: p}, endpoints, zop.WithServerCORSOptions(nil),
		zop.WithDecoder(newFormDecoder())) // formdecode.go
	return p, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// Routes registers the provider's endpoints on mux.
func (p *Provider) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathDiscovery, p.serveDiscovery)
	mux.HandleFunc("GET "+PathJWKS, p.serveJWKS)
	mux.HandleFunc(PathAuthorize, p.serveBrowser(p.authorize))
	mux.HandleFunc("GET "+CallbackPath, p.serveBrowser(p.callback))
	cors := &corsPolicy{p: p}
	mux.Handle(PathToken, cors.wrap(formGuard(tokenEndpoint, p.dpopTokenEndpoint(p.token))))
	mux.Handle(PathRevocation, cors.wrap(formGuard(revocationEndpoint, p.token)))
	mux.Handle(PathIntrospection, formGuard(introspectionEndpoint, p.token))
	mux.Handle(PathUserinfo, cors.wrap(http.HandlerFunc(p.userinfo)))
	mux.HandleFunc(PathEndSession, p.serveBrowser(p.endSession))
	if p.cfg.DeviceFlow {
		mux.Handle(PathDeviceAuthorization, formGuard(deviceAuthorizationEndpoint, p.token))
	}
	if p.cfg.PAR {
		mux.Handle(PathPAR, formGuard(parEndpoint, http.HandlerFunc(p.servePAR)))
	}
	if p.cfg.DynamicRegistration {
		p.registrationRoutes(mux)
	}
}

// CallbackURL returns where the login and consent pages send the browser
// once they have done their part of the authorization request.
func CallbackURL(authRequestID string) string {
	return CallbackPath + "?" + callbackIDParam + "=" + url.QueryEscape(authRequestID)
}
