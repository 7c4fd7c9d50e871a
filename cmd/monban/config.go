package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"gopkg.in/yaml.v3"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/web/admin"
)

// Config is the effective configuration of monban. It is built by
// loadConfig from, highest precedence first: command-line flags, MONBAN_*
// environment variables, an optional YAML file, and defaults.
type Config struct {
	// Issuer is the OpenID Provider's issuer identifier: an absolute https
	// URL without query or fragment (http only for localhost).
	Issuer string
	// Listen is the host:port the provider's HTTP server listens on.
	Listen string
	// ManagementListen is the host:port of the management listener
	// (/healthz, /readyz, /metrics); "" or "off" disables it.
	ManagementListen string
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
	// pre-publication lead (op.DefaultKeyLead, 1h).
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
	// TrustedProxies are the reverse proxies and load balancers (IP
	// addresses or CIDR prefixes) whose X-Forwarded-For header is believed
	// when the sign-in throttle decides a person's address (checklist
	// S10). Empty (the default) believes no header: behind a proxy every
	// person then shares the proxy's address and its per-address limit
	// (30 sign-in attempts a minute), so list the proxies.
	TrustedProxies []netip.Prefix
	// AuditRetention is how long audit entries (sign-ins, admin changes,
	// …) are kept before the janitor deletes them; 0 keeps them forever.
	// Default one year.
	AuditRetention time.Duration
	// Pprof serves Go's profiler (net/http/pprof) at /debug/pprof/ on the
	// management listener, never the public one. Off by default: a
	// profile costs CPU while it runs, and the endpoints tell whoever can
	// reach them a lot about the process.
	Pprof bool
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
}

// Configuration defaults.
const (
	defaultListen             = ":8080"
	defaultManagementListen   = "127.0.0.1:9090"
	defaultSessionIdleTimeout = time.Hour
	defaultSessionMaxAge      = 12 * time.Hour
	defaultLogLevel           = "info"
	defaultLogFormat          = "json"
	// A refresh answered within a few seconds covers concurrent requests
	// of one client (tabs, retries); two reuses cover three at once.
	defaultRefreshReuseGrace = 10 * time.Second
	defaultRefreshReuseMax   = 2

	envPrefix     = "MONBAN_"
	envConfigFile = "MONBAN_CONFIG"
	secretLen     = 32 // bytes of an AES-256 key-encryption key
)

// defaultConfig returns the configuration used when no source sets a value.
func defaultConfig() *Config {
	return &Config{
		Listen:             defaultListen,
		ManagementListen:   defaultManagementListen,
		SessionIdleTimeout: defaultSessionIdleTimeout,
		SessionMaxAge:      defaultSessionMaxAge,
		AccessTokenAlg:     string(op.DefaultAccessTokenAlg),
		KeyRotationPeriod:  op.DefaultKeyRotationPeriod,
		AdminFreshAuth:     admin.DefaultFreshAuth,
		RefreshReuseGrace:  defaultRefreshReuseGrace,
		RefreshReuseMax:    defaultRefreshReuseMax,
		AuditRetention:     op.DefaultAuditRetention,
		LogLevel:           defaultLogLevel,
		LogFormat:          defaultLogFormat,
	}
}

// option is one configuration key. Its YAML key is key, its environment
// variable MONBAN_<KEY> (and MONBAN_<KEY>_FILE when secret), its flag
// --<key> with dashes (only where a command registers it).
type option struct {
	key    string
	usage  string // flag usage; a `quoted` word names the value
	secret bool   // has a _FILE variant; never printed
	list   bool   // YAML sequence or comma/newline-separated string
	set    func(c *Config, v string) error
}

// options lists every configuration key. Add new keys here.
var options = []option{
	{key: "issuer", usage: "issuer identifier `URL`", set: func(c *Config, v string) error { c.Issuer = v; return nil }},
	{key: "listen", usage: "`address` (host:port) to listen on", set: func(c *Config, v string) error { c.Listen = v; return nil }},
	{key: "management_listen", usage: "management `address` (host:port; off disables)", set: func(c *Config, v string) error {
		c.ManagementListen = v
		if strings.EqualFold(strings.TrimSpace(v), "off") {
			c.ManagementListen = ""
		}
		return nil
	}},
	{key: "database_url", usage: "PostgreSQL connection string `DSN`", secret: true, set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{key: "secrets", secret: true, list: true, set: func(c *Config, v string) error { c.Secrets = splitList(v); return nil }},
	{key: "session_idle_timeout", set: func(c *Config, v string) error { return setDuration(&c.SessionIdleTimeout, v) }},
	{key: "session_max_age", set: func(c *Config, v string) error { return setDuration(&c.SessionMaxAge, v) }},
	{key: "access_token_alg", set: func(c *Config, v string) error { c.AccessTokenAlg = v; return nil }},
	{key: "shutdown_delay", set: func(c *Config, v string) error { return setDuration(&c.ShutdownDelay, v) }},
	{key: "admin_fresh_auth", set: func(c *Config, v string) error { return setDuration(&c.AdminFreshAuth, v) }},
	{key: "key_rotation_period", set: func(c *Config, v string) error { return setDuration(&c.KeyRotationPeriod, v) }},
	{key: "refresh_reuse_grace", set: func(c *Config, v string) error { return setDuration(&c.RefreshReuseGrace, v) }},
	{key: "refresh_reuse_max", set: func(c *Config, v string) error { return setInt(&c.RefreshReuseMax, v) }},
	{key: "backchannel_allow_private_networks", set: func(c *Config, v string) error {
		return setBool(&c.BackchannelAllowPrivateNetworks, v)
	}},
	{key: "audit_retention", set: func(c *Config, v string) error { return setDuration(&c.AuditRetention, v) }},
	{key: "pprof", set: func(c *Config, v string) error { return setBool(&c.Pprof, v) }},
	{key: "trusted_proxies", list: true, set: func(c *Config, v string) error { return setPrefixes(&c.TrustedProxies, v) }},
	{key: "log_level", set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{key: "log_format", set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
}

func lookupOption(key string) (option, bool) {
	for _, o := range options {
		if o.key == key {
			return o, true
		}
	}
	return option{}, false
}

func (o option) envName() string  { return envPrefix + strings.ToUpper(o.key) }
func (o option) flagName() string { return strings.ReplaceAll(o.key, "_", "-") }

// setDuration parses a Go duration ("90m", "12h") or a whole number of
// days ("30d").
func setDuration(d *time.Duration, v string) error {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= maxDays {
			*d = time.Duration(n) * 24 * time.Hour
			return nil
		}
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use for example 30m, 12h or 30d)", v)
	}
	*d = x
	return nil
}

// maxDays keeps a duration in days within time.Duration's range.
const maxDays = 100 * 365

// splitList splits a list given as one string on commas and newlines,
// trimming spaces and dropping empty elements.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// configFlags binds --config and the given configuration keys as flags of
// one subcommand's FlagSet.
type configFlags struct {
	fs   *flag.FlagSet
	path string
	keys map[string]string // flag name → option key
}

// addConfigFlags registers --config FILE and a string flag --<key> for each
// option key (for example "database_url" → --database-url).
func addConfigFlags(fs *flag.FlagSet, keys ...string) *configFlags {
	cf := &configFlags{fs: fs, keys: make(map[string]string)}
	fs.StringVar(&cf.path, "config", "", "YAML configuration `file` (default $"+envConfigFile+")")
	for _, k := range keys {
		o, ok := lookupOption(k)
		if !ok {
			panic("addConfigFlags: unknown option " + k)
		}
		fs.String(o.flagName(), "", o.usage+" (overrides $"+o.envName()+")")
		cf.keys[o.flagName()] = k
	}
	return cf
}

// load builds the configuration after fs was parsed; only flags given on
// the command line override the other sources.
func (cf *configFlags) load(env func(string) string) (*Config, error) {
	set := make(map[string]string)
	cf.fs.Visit(func(f *flag.Flag) {
		if k, ok := cf.keys[f.Name]; ok {
			set[k] = f.Value.String()
		}
	})
	return loadConfig(cf.path, set, env)
}

// loadConfig builds the configuration from, highest precedence first: flags
// (option key → value, only those given), environment variables read
// through env, the YAML file at path (or $MONBAN_CONFIG when path is empty),
// and defaults. It reports every problem it finds, joined; it does not
// check the values (see Validate).
func loadConfig(path string, flags map[string]string, env func(string) string) (*Config, error) {
	c := defaultConfig()
	var errs []error
	if path == "" {
		path = env(envConfigFile)
	}
	if path != "" {
		errs = append(errs, c.applyFile(path))
	}
	errs = append(errs, c.applyEnv(env))
	for _, o := range options {
		v, ok := flags[o.key]
		if !ok {
			continue
		}
		if err := o.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", o.flagName(), err))
		}
	}
	return c, errors.Join(errs...)
}

// applyEnv sets every option found in the environment. An empty variable
// counts as unset.
func (c *Config) applyEnv(env func(string) string) error {
	var errs []error
	for _, o := range options {
		name := o.envName()
		v := env(name)
		if o.secret {
			if file := env(name + "_FILE"); file != "" {
				if v != "" {
					errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: use only one", name, name))
					continue
				}
				b, err := os.ReadFile(file)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
					continue
				}
				v = strings.TrimRight(string(b), "\r\n")
				if v == "" {
					errs = append(errs, fmt.Errorf("%s_FILE: file %s is empty", name, file))
					continue
				}
				name += "_FILE"
			}
		}
		if v == "" {
			continue
		}
		if err := o.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// applyFile sets the options found in the YAML file. Unknown keys are an
// error, so a misspelt key is not silently ignored.
func (c *Config) applyFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 { // empty or only comments
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" { // "---" alone
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: line %d: want a mapping of keys to values", path, root.Line)
	}
	var errs []error
	seen := make(map[string]bool)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("config file %s: line %d: %s", path, k.Line, fmt.Sprintf(format, a...)))
		}
		o, ok := lookupOption(k.Value)
		switch {
		case !ok:
			fail("unknown key %q", k.Value)
			continue
		case seen[k.Value]:
			fail("key %q appears twice", k.Value)
			continue
		}
		seen[k.Value] = true
		var val string
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
			continue
		case v.Kind == yaml.ScalarNode:
			val = v.Value
		case v.Kind == yaml.SequenceNode && o.list:
			var items []string
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					fail("%s: each element must be a single value", k.Value)
					continue
				}
				items = append(items, it.Value)
			}
			val = strings.Join(items, "\n")
		case o.list:
			fail("%s must be a list or a single value", k.Value)
			continue
		default:
			fail("%s must be a single value", k.Value)
			continue
		}
		if err := o.set(c, val); err != nil {
			fail("%s: %v", k.Value, err)
		}
	}
	return errors.Join(errs...)
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

	if !slices.Contains(op.SupportedAlgorithms, jose.SignatureAlgorithm(c.AccessTokenAlg)) {
		add("access token algorithm %q is not one of %s", c.AccessTokenAlg, algList())
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
	if c.KeyRotationPeriod < op.DefaultKeyLead {
		add("key rotation period %s must be at least the %s a new key is published before it signs", c.KeyRotationPeriod, op.DefaultKeyLead)
	}

	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace > time.Minute {
		add("refresh reuse grace %s must be between 0 and 1m", c.RefreshReuseGrace)
	}
	if c.RefreshReuseMax < 0 || c.RefreshReuseMax > 10 {
		add("refresh reuse max %d must be between 0 and 10", c.RefreshReuseMax)
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
	for _, a := range op.SupportedAlgorithms {
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
		slog.String("database_url", redactDSN(c.DatabaseURL)),
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
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Duration("audit_retention", c.AuditRetention),
		slog.Bool("pprof", c.Pprof),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
	)
}

// redactDSN hides the password of a PostgreSQL connection string.
func redactDSN(dsn string) string {
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

// setInt parses a whole number.
func setInt(dst *int, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*dst = n
	return nil
}

// setBool parses true/false (also 1/0, yes/no).
// setPrefixes parses a list of IP addresses and CIDR prefixes ("10.0.0.0/8,
// 192.0.2.7"); a bare address is a prefix of its full length.
func setPrefixes(dst *[]netip.Prefix, v string) error {
	var out []netip.Prefix
	for _, f := range splitList(v) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q is not an IP address or CIDR prefix", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	*dst = out
	return nil
}

func setBool(dst *bool, v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes":
		*dst = true
	case "false", "0", "no":
		*dst = false
	default:
		return fmt.Errorf("%q is not true or false", v)
	}
	return nil
}
