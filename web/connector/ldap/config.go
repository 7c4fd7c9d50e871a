package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Config configures a Connector. The package documentation lists the
// YAML keys and the defaults New applies to zero fields.
type Config struct {
	// ConnectorID is the connector's id from the configuration; it is
	// copied to every Identity.
	ConnectorID string

	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection with StartTLS (RFC 4513 §3).
	StartTLS bool
	// CAFile is a PEM file of the CAs that may issue the server's
	// certificate; empty trusts the system pool.
	CAFile string
	// InsecureSkipVerify turns certificate verification off. It is never
	// implied; only an explicit setting enables it.
	InsecureSkipVerify bool
	// InsecureNoTLS allows plain ldap:// without StartTLS to a host that
	// is not a loopback address (passwords then cross the network in the
	// clear).
	InsecureNoTLS bool

	// BindDN and BindPassword are the service account that searches; both
	// empty searches anonymously.
	BindDN       string
	BindPassword string

	// UserSearchBase and UserFilter find the person's entry; every "%s" in
	// UserFilter is replaced by the username escaped per RFC 4515 §3.
	UserSearchBase string
	UserFilter     string
	// UsernameAttr, EmailAttr and NameAttr name the attributes mapped to
	// the identity's Username, Email and Name.
	UsernameAttr string
	EmailAttr    string
	NameAttr     string
	// IDAttr names the attribute holding the entry's stable id (entryUUID,
	// objectGUID); empty uses the DN.
	IDAttr string
	// EmailVerified marks e-mail addresses from the directory as verified
	// (the directory is authoritative).
	EmailVerified bool

	// GroupSearchBase and GroupFilter find the person's groups; every "%s"
	// in GroupFilter is replaced by the escaped DN of the person's entry.
	// Both empty: no group lookup (Identity.Groups stays nil).
	GroupSearchBase string
	GroupFilter     string
	// GroupNameAttr names the attribute holding a group's name.
	GroupNameAttr string

	// Timeout bounds a whole CheckPassword: dial, TLS, binds and searches.
	Timeout time.Duration
	// PoolSize is the number of connections of each pool (service
	// searches, user binds).
	PoolSize int
}

// Defaults for zero Config fields.
const (
	DefaultUsernameAttr  = "uid"
	DefaultEmailAttr     = "mail"
	DefaultNameAttr      = "cn"
	DefaultGroupNameAttr = "cn"
	DefaultTimeout       = 10 * time.Second
	DefaultPoolSize      = 4
	maxPoolSize          = 64
)

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.UsernameAttr, DefaultUsernameAttr)
	def(&c.EmailAttr, DefaultEmailAttr)
	def(&c.NameAttr, DefaultNameAttr)
	def(&c.GroupNameAttr, DefaultGroupNameAttr)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	return c
}

// endpoint is where and how to connect, derived from Config.URL.
type endpoint struct {
	addr string // host:port
	tls  bool   // ldaps://
}

// validate reports every problem of a defaulted configuration at once.
func (c Config) validate() (endpoint, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.ConnectorID == "" {
		bad("connector id is empty")
	}
	ep, err := parseURL(c.URL)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case ep.tls && c.StartTLS:
		bad("start_tls applies to ldap:// URLs, not ldaps://")
	case err == nil && !ep.tls && !c.StartTLS && !c.InsecureNoTLS && !isLoopback(ep.addr):
		bad("url %s is plain LDAP to a remote host, which sends passwords in the clear: use ldaps://, start_tls, or set insecure_no_tls", c.URL)
	}
	secure := ep.tls || c.StartTLS
	if c.InsecureSkipVerify && c.CAFile != "" {
		bad("ca_file and insecure_skip_verify contradict each other")
	}
	if !secure && (c.CAFile != "" || c.InsecureSkipVerify) {
		bad("ca_file and insecure_skip_verify need ldaps:// or start_tls")
	}
	if c.BindDN != "" && c.BindPassword == "" {
		bad("bind_dn is set but the bind password is empty (an empty password is an unauthenticated bind, RFC 4513 §5.1.2)")
	}
	if c.BindDN == "" && c.BindPassword != "" {
		bad("a bind password is set without bind_dn")
	}
	checkDN := func(key, dn string, required bool) {
		if dn == "" {
			if required {
				bad("%s is empty", key)
			}
			return
		}
		if _, err := ldap.ParseDN(dn); err != nil {
			bad("%s %q is not a DN: %v", key, dn, err)
		}
	}
	checkDN("bind_dn", c.BindDN, false)
	checkDN("user_search_base", c.UserSearchBase, true)
	checkFilter := func(key, filter string) {
		if !strings.Contains(filter, "%s") {
			bad("%s %q has no %%s for the value", key, filter)
			return
		}
		if _, err := ldap.CompileFilter(fillFilter(filter, "x")); err != nil {
			bad("%s %q is not an LDAP filter: %v", key, filter, err)
		}
	}
	checkFilter("user_filter", c.UserFilter)
	if (c.GroupSearchBase == "") != (c.GroupFilter == "") {
		bad("group_search_base and group_filter go together")
	} else if c.GroupSearchBase != "" {
		checkDN("group_search_base", c.GroupSearchBase, true)
		checkFilter("group_filter", c.GroupFilter)
	}
	for key, attr := range map[string]string{"username_attr": c.UsernameAttr, "email_attr": c.EmailAttr,
		"name_attr": c.NameAttr, "group_name_attr": c.GroupNameAttr, "id_attr": c.IDAttr} {
		if strings.ContainsAny(attr, " ,()=*\\") {
			bad("%s %q is not an attribute name", key, attr)
		}
	}
	if c.Timeout < 0 {
		bad("timeout %s is negative", c.Timeout)
	}
	if c.PoolSize < 0 || c.PoolSize > maxPoolSize {
		bad("pool_size %d is not between 1 and %d", c.PoolSize, maxPoolSize)
	}
	return ep, errors.Join(errs...)
}

// parseURL accepts ldap:// and ldaps:// URLs with a host, an optional
// port and nothing else.
func parseURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return endpoint{}, fmt.Errorf("url %q is not ldap://host[:port] or ldaps://host[:port]", raw)
	}
	var port string
	switch u.Scheme {
	case "ldap":
		port = "389"
	case "ldaps":
		port = "636"
	default:
		return endpoint{}, fmt.Errorf("url %q: scheme must be ldap or ldaps", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("url %q: only a scheme, host and port are allowed", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	return endpoint{addr: net.JoinHostPort(u.Hostname(), port), tls: u.Scheme == "ldaps"}, nil
}

func isLoopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsConfig is the client TLS configuration; nil for plain LDAP.
func (c Config) tlsConfig(ep endpoint) (*tls.Config, error) {
	if !ep.tls && !c.StartTLS {
		return nil, nil
	}
	host, _, _ := net.SplitHostPort(ep.addr)
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// fillFilter replaces every %s of a configured filter with an already
// escaped value (not fmt.Sprintf, which would misread any other % sign a
// filter's assertion values may hold).
func fillFilter(filter, escaped string) string {
	return strings.ReplaceAll(filter, "%s", escaped)
}
