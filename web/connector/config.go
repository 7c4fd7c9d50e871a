package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The connector types a configuration may name.
const (
	TypeOIDC   = "oidc"
	TypeGitHub = "github"
	TypeLDAP   = "ldap"
)

// Config is one entry of the configuration file's `connectors:` list.
// Secrets (ClientSecret, LDAP.BindPassword) are never printed (see
// Summary).
type Config struct {
	// ID names the connector in URLs (/connector/{id}/…) and in linked
	// identities; it must never change once people have signed in with
	// it.
	ID   string `yaml:"id" json:"id"`
	Type string `yaml:"type" json:"type"`
	// Name is the button's label: one string, or a map of language tags
	// to labels (en, ja).
	Name Names `yaml:"name" json:"name"`

	// OAuth 2.0 client of monban at the upstream (oidc, github).
	ClientID         string   `yaml:"client_id" json:"client_id,omitempty"`
	ClientSecret     string   `yaml:"client_secret" json:"-"`
	ClientSecretFile string   `yaml:"client_secret_file" json:"client_secret_file,omitempty"`
	Issuer           string   `yaml:"issuer" json:"issuer,omitempty"`
	Scopes           []string `yaml:"scopes" json:"scopes,omitempty"`
	// Claims maps upstream claims to the identity (oidc).
	Claims ClaimMapping `yaml:"claims" json:"claims"`
	// HostedDomains restricts a Google connector to accounts of these
	// Workspace domains (the ID token's hd claim); TenantIDs an Entra ID
	// connector to these tenants (the tid claim).
	HostedDomains []string `yaml:"hosted_domains" json:"hosted_domains,omitempty"`
	TenantIDs     []string `yaml:"tenant_ids" json:"tenant_ids,omitempty"`
	// JIT allows creating a local user at the first sign-in of an
	// identity that is not linked yet.
	JIT bool `yaml:"jit" json:"jit"`
	// TrustAMR copies the upstream's amr values into the session.
	TrustAMR bool `yaml:"trust_amr" json:"trust_amr"`
	// EndSessionRedirect sends the browser to the upstream's
	// end_session_endpoint after monban's own logout (oidc).
	EndSessionRedirect bool `yaml:"end_session_redirect" json:"end_session_redirect"`
	// Timeout bounds each call to the upstream; zero: DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"-"`

	// GitHub: the organisations whose members may sign in (empty: any
	// account), whether teams become groups "org:team", and the base URLs
	// (GitHub Enterprise, or a fake in tests).
	Orgs        []string `yaml:"orgs" json:"orgs,omitempty"`
	TeamsGroups bool     `yaml:"teams_as_groups" json:"teams_as_groups"`
	BaseURL     string   `yaml:"base_url" json:"base_url,omitempty"`
	APIURL      string   `yaml:"api_url" json:"api_url,omitempty"`

	// LDAP is the ldap type's settings (package web/connector/ldap).
	LDAP *LDAPConfig `yaml:"ldap" json:"ldap,omitempty"`
}

// ClaimMapping names the upstream claims an identity is read from; empty
// fields take the standard names (OIDC Core §5.1).
type ClaimMapping struct {
	Username string `yaml:"username" json:"username,omitempty"` // preferred_username
	Email    string `yaml:"email" json:"email,omitempty"`       // email
	Name     string `yaml:"name" json:"name,omitempty"`         // name
	Groups   string `yaml:"groups" json:"groups,omitempty"`     // none: no groups
}

// LDAPConfig is an LDAP or Active Directory connector's settings: the
// `ldap:` block of a connector of type ldap, with the keys package
// web/connector/ldap documents (its Config, which the application maps
// this to). The connector-level keys id, name, jit and timeout apply as
// for every connector; timeout bounds a whole password check.
type LDAPConfig struct {
	URL                string `yaml:"url" json:"url"`
	StartTLS           bool   `yaml:"start_tls" json:"start_tls"`
	CAFile             string `yaml:"ca_file" json:"ca_file,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
	InsecureNoTLS      bool   `yaml:"insecure_no_tls" json:"insecure_no_tls"`
	BindDN             string `yaml:"bind_dn" json:"bind_dn,omitempty"`
	BindPassword       string `yaml:"bind_password" json:"-"`
	BindPasswordFile   string `yaml:"bind_password_file" json:"bind_password_file,omitempty"`
	UserSearchBase     string `yaml:"user_search_base" json:"user_search_base"`
	UserFilter         string `yaml:"user_filter" json:"user_filter,omitempty"`
	UsernameAttr       string `yaml:"username_attr" json:"username_attr,omitempty"`
	IDAttr             string `yaml:"id_attr" json:"id_attr,omitempty"`
	EmailAttr          string `yaml:"email_attr" json:"email_attr,omitempty"`
	EmailVerified      bool   `yaml:"email_verified" json:"email_verified"`
	NameAttr           string `yaml:"name_attr" json:"name_attr,omitempty"`
	GroupSearchBase    string `yaml:"group_search_base" json:"group_search_base,omitempty"`
	GroupFilter        string `yaml:"group_filter" json:"group_filter,omitempty"`
	GroupNameAttr      string `yaml:"group_name_attr" json:"group_name_attr,omitempty"`
	PoolSize           int    `yaml:"pool_size" json:"pool_size,omitempty"`
}

// BindSecret returns the LDAP service account's password, read from
// BindPasswordFile when set (surrounding white space removed); "" when
// the connector has no ldap settings.
func (c Config) BindSecret() (string, error) {
	switch {
	case c.LDAP == nil:
		return "", nil
	case c.LDAP.BindPasswordFile == "":
		return c.LDAP.BindPassword, nil
	}
	b, err := os.ReadFile(c.LDAP.BindPasswordFile)
	if err != nil {
		return "", fmt.Errorf("connector %s: bind_password_file: %w", c.ID, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DefaultTimeout bounds a call to an upstream when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Names is a display name per language; "" is the fallback. In YAML it is
// a string or a mapping of language tags to strings.
type Names map[string]string

// UnmarshalYAML accepts a string or a mapping.
func (n *Names) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		*n = Names{"": s}
		return nil
	}
	var m map[string]string
	if err := unmarshal(&m); err != nil {
		return errors.New("name must be a string or a mapping of languages to strings")
	}
	*n = m
	return nil
}

// For returns the name in lang, else the fallback, else English, else
// any.
func (n Names) For(lang string) string {
	for _, k := range []string{lang, "", "en"} {
		if v := n[k]; v != "" {
			return v
		}
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if n[k] != "" {
			return n[k]
		}
	}
	return ""
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate reports every problem of the connector list at once: unique
// well-formed ids, known types, and each type's required settings.
func Validate(list []Config) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range list {
		name := fmt.Sprintf("connectors[%d] (%s)", i, c.ID)
		add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(name+": "+format, a...)) }
		if !idPattern.MatchString(c.ID) {
			add("id must be 1 to 32 lower-case letters, digits, - or _, starting with a letter or digit")
		}
		if seen[c.ID] {
			add("id appears twice")
		}
		seen[c.ID] = true
		if c.Name.For("") == "" {
			add("name is required (the sign-in button's label)")
		}
		if c.Timeout < 0 || c.Timeout > time.Minute {
			add("timeout must be between 0 and 1m")
		}
		switch c.Type {
		case TypeOIDC, TypeGitHub:
			if c.ClientID == "" {
				add("client_id is required")
			}
			if c.ClientSecret == "" && c.ClientSecretFile == "" {
				add("client_secret or client_secret_file is required")
			}
			if c.ClientSecret != "" && c.ClientSecretFile != "" {
				add("set client_secret or client_secret_file, not both")
			}
			if c.LDAP != nil {
				add("ldap settings belong to a connector of type ldap")
			}
		case TypeLDAP:
			if c.LDAP == nil || c.LDAP.URL == "" || c.LDAP.UserSearchBase == "" {
				add("type ldap needs ldap.url and ldap.user_search_base")
			}
			if c.LDAP != nil && c.LDAP.BindPassword != "" && c.LDAP.BindPasswordFile != "" {
				add("set ldap.bind_password or ldap.bind_password_file, not both")
			}
			if c.ClientID != "" || c.ClientSecret != "" || c.ClientSecretFile != "" || c.Issuer != "" {
				add("client_id, client_secret and issuer belong to oidc and github connectors; ldap settings go under ldap:")
			}
			if c.EndSessionRedirect || c.TrustAMR {
				add("end_session_redirect and trust_amr need an OpenID provider (type oidc)")
			}
		default:
			add("type %q is not one of oidc, github, ldap", c.Type)
		}
		switch c.Type {
		case TypeOIDC:
			if u, err := url.Parse(c.Issuer); c.Issuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add("issuer must be the upstream's absolute https URL")
			}
		case TypeGitHub:
			for _, u := range []string{c.BaseURL, c.APIURL} {
				if p, err := url.Parse(u); u != "" && (err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http")) {
					add("base_url and api_url must be absolute URLs")
				}
			}
			if c.EndSessionRedirect {
				add("end_session_redirect needs an OpenID provider (type oidc)")
			}
		}
	}
	return errors.Join(errs...)
}

// Secret returns the client secret, read from ClientSecretFile when set
// (surrounding white space removed).
func (c Config) Secret() (string, error) {
	if c.ClientSecretFile == "" {
		return c.ClientSecret, nil
	}
	b, err := os.ReadFile(c.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("connector %s: client_secret_file: %w", c.ID, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// CallTimeout is Timeout or DefaultTimeout.
func (c Config) CallTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Redacted returns copies of list with every secret replaced by
// "(redacted)", for logs and `config check` (the JSON encoding leaves
// secrets out anyway; a text log prints every field).
func Redacted(list []Config) []Config {
	out := make([]Config, len(list))
	for i, c := range list {
		if c.ClientSecret != "" {
			c.ClientSecret = "(redacted)"
		}
		if c.LDAP != nil {
			l := *c.LDAP
			if l.BindPassword != "" {
				l.BindPassword = "(redacted)"
			}
			c.LDAP = &l
		}
		out[i] = c
	}
	return out
}

// MarshalJSON writes the configuration without its secrets, the timeout
// as a duration string ("10s").
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	out := struct {
		plain
		Timeout string `json:"timeout,omitempty"`
	}{plain: plain(c)}
	if c.Timeout != 0 {
		out.Timeout = c.Timeout.String()
	}
	return json.Marshal(out)
}
