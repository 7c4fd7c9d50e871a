package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/i18n"
)

// Where the configuration comes from besides flags.
const (
	envPrefix     = "MONBAN_"
	envConfigFile = "MONBAN_CONFIG"
)

// defaultConfig returns the configuration used when no source sets a
// value: app.Defaults, the one place defaults are set.
func defaultConfig() *app.Config {
	c := app.Defaults()
	return &c
}

// option is one configuration key. Its YAML key is key, its environment
// variable MONBAN_<KEY> (and MONBAN_<KEY>_FILE when secret), its flag
// --<key> with dashes (only where a command registers it).
type option struct {
	key    string
	usage  string // flag usage; a `quoted` word names the value
	secret bool   // has a _FILE variant; never printed
	list   bool   // YAML sequence or comma/newline-separated string
	set    func(c *app.Config, v string) error
}

// options lists every configuration key. Add new keys here.
var options = []option{
	{key: "issuer", usage: "issuer identifier `URL`", set: func(c *app.Config, v string) error { c.Issuer = v; return nil }},
	{key: "listen", usage: "`address` (host:port) to listen on", set: func(c *app.Config, v string) error { c.Listen = v; return nil }},
	{key: "management_listen", usage: "management `address` (host:port; off disables)", set: func(c *app.Config, v string) error {
		c.ManagementListen = v
		if strings.EqualFold(strings.TrimSpace(v), "off") {
			c.ManagementListen = ""
		}
		return nil
	}},
	{key: "tls_cert_file", usage: "PEM certificate chain `file` (with tls_key_file: serve https)", set: func(c *app.Config, v string) error { c.TLSCertFile = v; return nil }},
	{key: "tls_key_file", usage: "PEM private key `file` of tls_cert_file", set: func(c *app.Config, v string) error { c.TLSKeyFile = v; return nil }},
	{key: "database_url", usage: "PostgreSQL connection string `DSN`", secret: true, set: func(c *app.Config, v string) error { c.DatabaseURL = v; return nil }},
	{key: "secrets", secret: true, list: true, set: func(c *app.Config, v string) error { c.Secrets = splitList(v); return nil }},
	{key: "session_idle_timeout", set: func(c *app.Config, v string) error { return setDuration(&c.SessionIdleTimeout, v) }},
	{key: "session_max_age", set: func(c *app.Config, v string) error { return setDuration(&c.SessionMaxAge, v) }},
	{key: "access_token_alg", set: func(c *app.Config, v string) error { c.AccessTokenAlg = v; return nil }},
	{key: "shutdown_delay", set: func(c *app.Config, v string) error { return setDuration(&c.ShutdownDelay, v) }},
	{key: "admin_fresh_auth", set: func(c *app.Config, v string) error { return setDuration(&c.AdminFreshAuth, v) }},
	{key: "key_rotation_period", set: func(c *app.Config, v string) error { return setDuration(&c.KeyRotationPeriod, v) }},
	{key: "refresh_reuse_grace", set: func(c *app.Config, v string) error { return setDuration(&c.RefreshReuseGrace, v) }},
	{key: "refresh_reuse_max", set: func(c *app.Config, v string) error { return setInt(&c.RefreshReuseMax, v) }},
	{key: "backchannel_allow_private_networks", set: func(c *app.Config, v string) error {
		return setBool(&c.BackchannelAllowPrivateNetworks, v)
	}},
	{key: "admins_require_mfa", set: func(c *app.Config, v string) error { return setBool(&c.AdminsRequireMFA, v) }},
	{key: "audit_retention", set: func(c *app.Config, v string) error { return setDuration(&c.AuditRetention, v) }},
	{key: "pprof", set: func(c *app.Config, v string) error { return setBool(&c.Pprof, v) }},
	{key: "device_flow", set: func(c *app.Config, v string) error { return setBool(&c.DeviceFlow, v) }},
	{key: "private_key_jwt", set: func(c *app.Config, v string) error { return setBool(&c.PrivateKeyJWT, v) }},
	{key: "pushed_authorization_requests", set: func(c *app.Config, v string) error { return setBool(&c.PAR, v) }},
	{key: "dpop", set: func(c *app.Config, v string) error { return setBool(&c.DPoP, v) }},
	{key: "dpop_nonce", set: func(c *app.Config, v string) error { return setBool(&c.DPoPNonce, v) }},
	{key: "admin_api", set: func(c *app.Config, v string) error { return setBool(&c.AdminAPI, v) }},
	{key: "token_exchange", set: func(c *app.Config, v string) error { return setBool(&c.TokenExchange, v) }},
	{key: "dynamic_registration", set: func(c *app.Config, v string) error { return setBool(&c.DynamicRegistration, v) }},
	{key: "trusted_proxies", list: true, set: func(c *app.Config, v string) error { return setPrefixes(&c.TrustedProxies, v) }},
	// Mail (issue 16): smtp_url carries credentials, so it has a _FILE.
	{key: "smtp_url", usage: "SMTP server `URL` (smtp:// with STARTTLS, or smtps://)", secret: true,
		set: func(c *app.Config, v string) error { c.Mail.SMTPURL = v; return nil }},
	{key: "mail_from", set: func(c *app.Config, v string) error { c.Mail.From = v; return nil }},
	{key: "registration", usage: "self-registration: `off`, open or domains",
		set: func(c *app.Config, v string) error { c.Registration.Mode = v; return nil }},
	{key: "registration_domains", list: true, set: func(c *app.Config, v string) error {
		c.Registration.Domains = splitList(v)
		return nil
	}},
	{key: "log_level", set: func(c *app.Config, v string) error { c.LogLevel = v; return nil }},
	{key: "log_format", set: func(c *app.Config, v string) error { c.LogFormat = v; return nil }},
	// The pages' language, time zone and brand (issue 14); web.New checks
	// the brand and reads its logo.
	{key: "default_locale", set: func(c *app.Config, v string) error {
		if !i18n.Catalogs().Supports(v) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(i18n.Catalogs().Supported(), ", "))
		}
		c.Appearance.DefaultLocale = v
		return nil
	}},
	{key: "display_time_zone", set: func(c *app.Config, v string) error {
		z, err := time.LoadLocation(v)
		if err != nil || v == "" || v == "Local" {
			return fmt.Errorf("%q is not an IANA time zone such as UTC or Asia/Tokyo", v)
		}
		c.Appearance.TimeZone = z
		return nil
	}},
	{key: "brand_name", set: func(c *app.Config, v string) error { c.Appearance.Brand.Name = v; return nil }},
	{key: "brand_logo", usage: "logo `file` (.svg, .png, .jpg or .webp)", set: func(c *app.Config, v string) error { c.Appearance.Brand.LogoFile = v; return nil }},
	{key: "brand_color", usage: "primary `colour` (#rrggbb)", set: func(c *app.Config, v string) error { c.Appearance.Brand.Color = v; return nil }},
	{key: "brand_support_url", set: func(c *app.Config, v string) error { c.Appearance.Brand.SupportURL = v; return nil }},
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
func (cf *configFlags) load(env func(string) string) (*app.Config, error) {
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
// check the values (see app.Config.Validate).
func loadConfig(path string, flags map[string]string, env func(string) string) (*app.Config, error) {
	c := defaultConfig()
	var errs []error
	if path == "" {
		path = env(envConfigFile)
	}
	if path != "" {
		errs = append(errs, applyFile(c, path))
	}
	errs = append(errs, applyEnv(c, env))
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

// applyEnv sets in c every option found in the environment. An empty variable
// counts as unset.
func applyEnv(c *app.Config, env func(string) string) error {
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

// applyFile sets in c the options found in the YAML file. Unknown keys are an
// error, so a misspelt key is not silently ignored.
func applyFile(c *app.Config, path string) error {
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
		if k.Value == connectorsKey { // a list of mappings, not a value
			if seen[k.Value] {
				fail("key %q appears twice", k.Value)
				continue
			}
			seen[k.Value] = true
			list, err := decodeConnectors(v)
			if err != nil {
				fail("connectors: %v", err)
				continue
			}
			c.Connectors = list
			continue
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

// connectorsKey is the configuration file's list of upstream identity
// providers (issue 18); it has no environment variable or flag.
const connectorsKey = "connectors"

// decodeConnectors reads the connectors list, refusing unknown keys (a
// misspelt setting must not be ignored silently).
func decodeConnectors(v *yaml.Node) ([]connector.Config, error) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errors.New("must be a list of connectors")
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var list []connector.Config
	if err := dec.Decode(&list); err != nil {
		return nil, err
	}
	return list, nil
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
