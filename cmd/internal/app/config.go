package app

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/cmd/internal/janitor"
	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/admin"
	"github.com/monban-idp/monban/web/connector"
)

// Config is everything the application is made of: the settings an
// operator gives (cmd/monban fills them from flags, MONBAN_* environment
// variables and the YAML file, starting from Defaults) and the parts a
// caller may hand in instead (a store, keys, a clock, a logger).
//
// Zero values: a setting whose zero has no meaning of its own takes its
// value from Defaults in New (the durations, AccessTokenAlg, LogLevel,
// LogFormat). The settings whose zero means something say so, and mean it
// in every layer: AuditRetention 0 keeps audit entries forever,
// RefreshReuseGrace 0 is off, ShutdownDelay 0 closes at once,
// ManagementListen "" has no management listener.
type Config struct {
	// Issuer is the OpenID Provider's issuer identifier: an absolute https
	// URL without query or fragment (http only for localhost).
	Issuer string
	// Listen is the host:port the provider's HTTP server listens on.
	Listen string
	// ManagementListen is the host:port of the management listener
	// (/healthz, /readyz, /metrics); "" or "off" disables it.
	ManagementListen string
	// TLSCertFile and TLSKeyFile, both set, make serve answer https itself
	// on Listen: the PEM certificate chain and its private key, reloaded
	// when the files change (cmd/internal/certs), HTTP/2 offered. Both
	// empty (the default): plain HTTP, for a TLS-terminating proxy in
	// front. The management listener stays plain HTTP either way.
	TLSCertFile string
	TLSKeyFile  string
	// DatabaseURL is the PostgreSQL connection string (URL or key=value).
	DatabaseURL string
	// Secrets are the key-encryption keys that protect signing keys at
	// rest, each the standard base64 encoding of 32 random bytes
	// (openssl rand -base64 32). The first encrypts; all are tried when
	// decrypting, so an old secret can stay listed after a rotation.
	Secrets []string
	// SessionIdleTimeout ends an SSO session that has not been used for
	// this long.
	SessionIdleTimeout time.Duration
	// SessionMaxAge ends an SSO session this long after sign-in, however
	// active it is.
	SessionMaxAge time.Duration
	// AccessTokenAlg is the JWS algorithm of access tokens: ES256 (the
	// default: about 25 times cheaper to sign than RSA-2048), RS256, PS256
	// or EdDSA. ID tokens use each client's id_token_signed_response_alg,
	// RS256 by default.
	AccessTokenAlg string
	// KeyRotationPeriod is how long a signing key signs before the next,
	// already published one takes over. It must exceed the key's
	// pre-publication lead (keys.DefaultKeyLead, 1h).
	KeyRotationPeriod time.Duration
	// AdminFreshAuth is how recent an administrator's sign-in must be for
	// sensitive console actions (secret rotation, deleting a client,
	// password reset, disabling users, granting admin; checklist D2).
	AdminFreshAuth time.Duration
	// ShutdownDelay is how long serve keeps answering after SIGTERM, with
	// /readyz already failing, before it closes its listener, so a load
	// balancer can stop routing to it first (checklist R7). Zero (the
	// default, right for one process) closes at once; behind a load
	// balancer use a few seconds, longer than its health-check interval.
	ShutdownDelay time.Duration
	// RefreshReuseGrace and RefreshReuseMax are the grace window for
	// clients that race their refreshes (RFC 9700 §4.14.2 lets the server
	// decide how it detects reuse): a rotated refresh token presented
	// again within the window, at most RefreshReuseMax times, gets a
	// successor instead of revoking the family, so two browser tabs that
	// refresh at once both stay signed in. A reuse after the window, or
	// beyond the count, still revokes the whole family. Default 10s and 2;
	// either set to zero turns the grace off (every reuse fatal).
	RefreshReuseGrace time.Duration
	RefreshReuseMax   int
	// BackchannelAllowPrivateNetworks lets back-channel logout tokens go to
	// loopback and private addresses (apps on an internal network). Off by
	// default, so a registered URI cannot make the provider reach internal
	// services (checklist L6); always on with --dev.
	BackchannelAllowPrivateNetworks bool
	// AdminsRequireMFA makes administrators sign in with a second factor,
	// enrolling one at their next sign-in when they have none (issue 17).
	// Off by default.
	AdminsRequireMFA bool
	// Appearance is the pages' default language (default_locale), time
	// zone (display_time_zone) and brand (brand_*); zero values are
	// monban's own (web.Appearance).
	Appearance web.Appearance
	// TrustedProxies are the reverse proxies and load balancers (IP
	// addresses or CIDR prefixes) whose X-Forwarded-For header is believed
	// when the sign-in throttle decides a person's address (checklist
	// S10). Empty (the default) believes no header: behind a proxy every
	// person then shares the proxy's address and its per-address limit
	// (30 sign-in attempts a minute), so list the proxies.
	TrustedProxies []netip.Prefix
	// AuditRetention is how long audit entries (sign-ins, admin changes,
	// …) are kept before the janitor deletes them; 0 keeps them forever,
	// here, in the configuration file and in the janitor alike. Default
	// one year (janitor.DefaultAuditRetention).
	AuditRetention time.Duration
	// Pprof serves Go's profiler (net/http/pprof) at /debug/pprof/ on the
	// management listener, never the public one. Off by default: a
	// profile costs CPU while it runs, and the endpoints tell whoever can
	// reach them a lot about the process.
	Pprof bool
	// Mail is how mail is sent (smtp_url, mail_from; issue 16).
	Mail MailConfig
	// DeviceFlow enables the device authorization grant (RFC 8628):
	// /device_authorization, the device_code grant for the clients
	// registered for it, and the user-code page /device. On by default;
	// clients still need the grant.
	DeviceFlow bool
	// DeviceInterval is the polling interval devices are told (RFC 8628
	// §3.2), in whole seconds; zero: op.DefaultDeviceInterval (5s).
	DeviceInterval time.Duration
	// PrivateKeyJWT accepts client assertions (RFC 7523 §2.2) from clients
	// registered with private_key_jwt. On by default. Their jwks_uri
	// documents are fetched from public addresses only, unless
	// BackchannelAllowPrivateNetworks.
	PrivateKeyJWT bool
	// PAR enables pushed authorization requests (RFC 9126): the /par
	// endpoint and the request_uri values it issues. On by default.
	PAR bool
	// DPoP enables DPoP (RFC 9449): proofs at /token bind access tokens
	// (and public clients' refresh tokens) to the client's key, UserInfo
	// accepts the DPoP scheme, and discovery lists
	// dpop_signing_alg_values_supported. On by default.
	DPoP bool
	// DPoPNonce makes DPoP proofs carry a server nonce (RFC 9449 §8, §9),
	// derived from the first secret so replicas share it. On by default.
	DPoPNonce bool
	// AdminAPI serves the admin API at /admin/api/v1 (issue 20), for
	// service accounts with admin scopes. On by default: without such a
	// client no token can call it.
	AdminAPI bool
	// TokenExchange enables the token exchange grant (RFC 8693) for the
	// clients registered for it, with their audiences. On by default;
	// clients still need the grant.
	TokenExchange bool
	// DynamicRegistration enables dynamic client registration and
	// management (RFC 7591, RFC 7592) at /register, guarded by initial
	// access tokens ("monban client registration-token"). Off by default.
	DynamicRegistration bool
	// Registration is self-registration (registration: off|open|domains,
	// registration_domains); off by default. It needs mail.
	Registration web.RegistrationConfig
	// Connectors are the upstream identity providers people may sign in
	// with (issue 18): the configuration file's connectors list.
	Connectors []connector.Config
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string

	// Store, when set, is used instead of opening DatabaseURL (the memory
	// store of --dev and tests); the caller closes it.
	Store storage.Store
	// KEK, when set, is used instead of the keys parsed from Secrets.
	KEK *keys.KeyEncryptionKeys
	// CSRFKey signs CSRF tokens; nil: derived from the first secret, so
	// replicas sharing the secrets accept each other's forms, or random
	// per process without secrets.
	CSRFKey []byte
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger logs; nil: NewLogger(LogLevel, LogFormat, os.Stderr).
	Logger *slog.Logger
	// Hasher hashes passwords; nil: argon2id with OWASP parameters.
	Hasher *password.Hasher
}

// secretLen is the length in bytes of an AES-256 key-encryption key.
const secretLen = 32

// Defaults returns the configuration used where no source sets a value:
// the one place monban's defaults are set.
func Defaults() Config {
	return Config{
		Listen:             ":8080",
		ManagementListen:   "127.0.0.1:9090",
		SessionIdleTimeout: time.Hour,
		SessionMaxAge:      12 * time.Hour,
		AccessTokenAlg:     string(op.DefaultAccessTokenAlg),
		KeyRotationPeriod:  keys.DefaultKeyRotationPeriod,
		AdminFreshAuth:     admin.DefaultFreshAuth,
		// A refresh answered within a few seconds covers concurrent
		// requests of one client (tabs, retries); two reuses cover three
		// at once.
		RefreshReuseGrace: 10 * time.Second,
		RefreshReuseMax:   2,
		AuditRetention:    janitor.DefaultAuditRetention,
		LogLevel:          "info",
		LogFormat:         "json",
		DeviceFlow:        true,
		PrivateKeyJWT:     true,
		PAR:               true,
		DPoP:              true,
		DPoPNonce:         true,
		AdminAPI:          true,
		TokenExchange:     true,
	}
}

// withDefaults returns c with every setting whose zero has no meaning of
// its own taken from Defaults (see Config).
func (c Config) withDefaults() Config {
	d := Defaults()
	for _, f := range []struct {
		dst *time.Duration
		def time.Duration
	}{
		{&c.SessionIdleTimeout, d.SessionIdleTimeout},
		{&c.SessionMaxAge, d.SessionMaxAge},
		{&c.KeyRotationPeriod, d.KeyRotationPeriod},
		{&c.AdminFreshAuth, d.AdminFreshAuth},
	} {
		if *f.dst == 0 {
			*f.dst = f.def
		}
	}
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&c.AccessTokenAlg, d.AccessTokenAlg},
		{&c.LogLevel, d.LogLevel},
		{&c.LogFormat, d.LogFormat},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return c
}

// Validate reports every problem with the configuration at once (joined
// with errors.Join). With dev (serve --dev, in-memory store) the issuer,
// database URL and secrets are optional and an http issuer is allowed for
// any host.
func (c *Config) Validate(dev bool) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch {
	case c.Issuer == "" && !dev:
		add("issuer is required: set MONBAN_ISSUER, issuer in the config file, or --issuer")
	case c.Issuer != "":
		if err := validateIssuer(c.Issuer, dev); err != nil {
			errs = append(errs, err)
		}
	}

	if c.Listen == "" {
		add("listen address is required (for example :8080)")
	} else if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		add("listen address %q must be host:port (for example :8080)", c.Listen)
	}

	if c.ManagementListen != "" {
		if _, port, err := net.SplitHostPort(c.ManagementListen); err != nil || port == "" {
			add("management listen address %q must be host:port (for example 127.0.0.1:9090), or off", c.ManagementListen)
		} else if c.ManagementListen == c.Listen {
			add("management listen address %q must differ from the listen address", c.ManagementListen)
		}
	}

	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		add("tls_cert_file and tls_key_file go together: set both to serve https, or neither behind a TLS-terminating proxy")
	case c.TLSCertFile != "":
		// Read now, so a missing, unreadable or mismatched pair stops
		// start-up (and config check) rather than the first handshake.
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			add("tls_cert_file and tls_key_file: %v", err)
		}
	}

	if c.DatabaseURL == "" && !dev {
		add("database URL is required: set MONBAN_DATABASE_URL, MONBAN_DATABASE_URL_FILE, database_url in the config file, or --database-url")
	}

	if len(c.Secrets) == 0 && !dev {
		add("at least one secret is required to encrypt signing keys: set MONBAN_SECRETS or MONBAN_SECRETS_FILE (for example from openssl rand -base64 32)")
	}
	for i, s := range c.Secrets {
		if raw, err := base64.StdEncoding.DecodeString(s); err != nil || len(raw) != secretLen {
			add("secret #%d is not the base64 encoding of %d bytes (generate one with openssl rand -base64 32)", i+1, secretLen)
		}
	}

	if c.SessionIdleTimeout <= 0 {
		add("session idle timeout must be positive, got %s", c.SessionIdleTimeout)
	}
	if c.SessionMaxAge <= 0 {
		add("session max age must be positive, got %s", c.SessionMaxAge)
	}
	if c.SessionIdleTimeout > c.SessionMaxAge && c.SessionMaxAge > 0 {
		add("session idle timeout (%s) must not exceed session max age (%s)", c.SessionIdleTimeout, c.SessionMaxAge)
	}

	if !slices.Contains(keys.SupportedAlgorithms, jose.SignatureAlgorithm(c.AccessTokenAlg)) {
		add("access token algorithm %q is not one of %s", c.AccessTokenAlg, algList())
	}
	errs = append(errs, c.Mail.validate()...)
	if r := c.Registration.Mode; r != "" && r != web.RegistrationOff && c.Mail.SMTPURL == "" && !c.Mail.Dev {
		add("registration %q needs smtp_url: the account is created from a link sent by mail", r)
	}
	if c.ShutdownDelay < 0 || c.ShutdownDelay > time.Minute {
		add("shutdown delay %s must be between 0 and 1m", c.ShutdownDelay)
	}
	if c.AuditRetention != 0 && c.AuditRetention < 24*time.Hour {
		add("audit retention %s must be 0 (keep forever) or at least 1d", c.AuditRetention)
	}
	if c.AdminFreshAuth < time.Minute || c.AdminFreshAuth > 12*time.Hour {
		add("admin fresh authentication window %s must be between 1m and 12h", c.AdminFreshAuth)
	}
	if c.KeyRotationPeriod < keys.DefaultKeyLead {
		add("key rotation period %s must be at least the %s a new key is published before it signs", c.KeyRotationPeriod, keys.DefaultKeyLead)
	}

	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace > time.Minute {
		add("refresh reuse grace %s must be between 0 and 1m", c.RefreshReuseGrace)
	}
	if c.RefreshReuseMax < 0 || c.RefreshReuseMax > 10 {
		add("refresh reuse max %d must be between 0 and 10", c.RefreshReuseMax)
	}

	if err := connector.Validate(c.Connectors); err != nil {
		errs = append(errs, err)
	} else if err := checkDirectories(c.Connectors); err != nil {
		errs = append(errs, err)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("log level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("log format %q is not one of json, text", c.LogFormat)
	}
	return errors.Join(errs...)
}

// algList lists the supported signing algorithms for messages.
func algList() string {
	var names []string
	for _, a := range keys.SupportedAlgorithms {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// validateIssuer checks the issuer identifier (OIDC Discovery §3: https,
// no query, no fragment). http is allowed for loopback hosts, and for any
// host in dev mode.
func validateIssuer(issuer string, dev bool) error {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("issuer %q must be an absolute URL such as https://id.example.com", issuer)
	}
	var errs []error
	switch u.Scheme {
	case "https":
	case "http":
		if !dev && !isLoopbackHost(u.Hostname()) {
			errs = append(errs, fmt.Errorf("issuer %q must use https (http only for localhost)", issuer))
		}
	default:
		errs = append(errs, fmt.Errorf("issuer %q must use https", issuer))
	}
	if u.User != nil {
		errs = append(errs, fmt.Errorf("issuer %q must not contain user information", issuer))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		errs = append(errs, fmt.Errorf("issuer %q must not have a query or fragment", issuer))
	}
	if strings.HasSuffix(u.Path, "/") {
		errs = append(errs, fmt.Errorf("issuer %q must not end with a slash", issuer))
	}
	return errors.Join(errs...)
}

// isLoopbackHost reports whether host (without brackets or port) names the
// local machine: localhost, 127.0.0.1 or ::1.
func isLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// LogValue implements slog.LogValuer, so logging a Config never reveals the
// database password or the secrets.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", c.Issuer),
		slog.String("listen", c.Listen),
		slog.String("management_listen", c.ManagementListen),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("database_url", RedactDSN(c.DatabaseURL)),
		slog.Int("secrets", len(c.Secrets)),
		slog.Duration("session_idle_timeout", c.SessionIdleTimeout),
		slog.Duration("session_max_age", c.SessionMaxAge),
		slog.String("access_token_alg", c.AccessTokenAlg),
		slog.Duration("key_rotation_period", c.KeyRotationPeriod),
		slog.Duration("admin_fresh_auth", c.AdminFreshAuth),
		slog.Duration("shutdown_delay", c.ShutdownDelay),
		slog.Duration("refresh_reuse_grace", c.RefreshReuseGrace),
		slog.Int("refresh_reuse_max", c.RefreshReuseMax),
		slog.Bool("backchannel_allow_private_networks", c.BackchannelAllowPrivateNetworks),
		slog.Bool("admins_require_mfa", c.AdminsRequireMFA),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Duration("audit_retention", c.AuditRetention),
		slog.Bool("pprof", c.Pprof),
		slog.Bool("device_flow", c.DeviceFlow),
		slog.Bool("private_key_jwt", c.PrivateKeyJWT),
		slog.Bool("pushed_authorization_requests", c.PAR),
		slog.Bool("dpop", c.DPoP),
		slog.Bool("dpop_nonce", c.DPoPNonce),
		slog.Bool("admin_api", c.AdminAPI),
		slog.Bool("token_exchange", c.TokenExchange),
		slog.Bool("dynamic_registration", c.DynamicRegistration),
		slog.String("smtp_url", RedactDSN(c.Mail.SMTPURL)),
		slog.String("mail_from", c.Mail.From),
		slog.String("registration", c.Registration.Mode),
		slog.Any("registration_domains", c.Registration.Domains),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.String("default_locale", c.Appearance.DefaultLocale),
		slog.String("display_time_zone", zoneName(c.Appearance.TimeZone)),
		slog.String("brand_name", c.Appearance.Brand.Name),
		slog.String("brand_logo", c.Appearance.Brand.LogoFile),
		slog.String("brand_color", c.Appearance.Brand.Color),
		slog.String("brand_support_url", c.Appearance.Brand.SupportURL),
		slog.Any("connectors", connector.Redacted(c.Connectors)),
	)
}

// RedactDSN hides the password of a PostgreSQL connection string.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			return u.Scheme + "://" + u.Host + u.Path + " (credentials redacted)"
		}
		return u.Redacted()
	}
	return "(key=value connection string redacted)"
}

// zoneName is a time zone's IANA name; "" (UTC, the default) for nil.
func zoneName(z *time.Location) string {
	if z == nil {
		return ""
	}
	return z.String()
}
