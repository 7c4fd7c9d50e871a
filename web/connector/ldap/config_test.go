package ldap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := Config{ConnectorID: "corp", URL: "ldaps://ldap.example.com", BindDN: "cn=reader,dc=example,dc=com",
		BindPassword: "secret", UserSearchBase: "ou=people,dc=example,dc=com", UserFilter: "(uid=%s)"}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; empty for no error
	}{
		{name: "valid", change: func(*Config) {}},
		{name: "plain LDAP to loopback", change: func(c *Config) { c.URL = "ldap://127.0.0.1:3389" }},
		{name: "StartTLS", change: func(c *Config) { c.URL, c.StartTLS = "ldap://ldap.example.com", true }},
		{name: "anonymous search", change: func(c *Config) { c.BindDN, c.BindPassword = "", "" }},
		{name: "AD-style", change: func(c *Config) {
			c.UserFilter, c.UsernameAttr, c.IDAttr = "(&(objectClass=user)(sAMAccountName=%s))", "sAMAccountName", "objectGUID"
			c.GroupSearchBase, c.GroupFilter = "dc=example,dc=com", "(&(objectClass=group)(member=%s))"
		}},
		{name: "no connector id", change: func(c *Config) { c.ConnectorID = "" }, want: "connector id"},
		{name: "no URL", change: func(c *Config) { c.URL = "" }, want: "url"},
		{name: "http URL", change: func(c *Config) { c.URL = "http://ldap.example.com" }, want: "scheme"},
		{name: "URL with a base DN", change: func(c *Config) { c.URL = "ldap://ldap.example.com/dc=example" }, want: "only a scheme"},
		{name: "plain LDAP to a remote host", change: func(c *Config) { c.URL = "ldap://ldap.example.com" }, want: "in the clear"},
		{name: "plain LDAP allowed explicitly", change: func(c *Config) { c.URL, c.InsecureNoTLS = "ldap://ldap.example.com", true }},
		{name: "StartTLS on LDAPS", change: func(c *Config) { c.StartTLS = true }, want: "start_tls"},
		{name: "CA file and skip verify", change: func(c *Config) { c.CAFile, c.InsecureSkipVerify = notPEM, true }, want: "contradict"},
		{name: "CA file without TLS", change: func(c *Config) { c.URL, c.CAFile = "ldap://127.0.0.1", notPEM }, want: "need ldaps"},
		{name: "CA file without certificates", change: func(c *Config) { c.CAFile = notPEM }, want: "no PEM certificate"},
		{name: "CA file missing", change: func(c *Config) { c.CAFile = notPEM + ".missing" }, want: "ca_file"},
		{name: "bind DN without password", change: func(c *Config) { c.BindPassword = "" }, want: "unauthenticated bind"},
		{name: "password without bind DN", change: func(c *Config) { c.BindDN = "" }, want: "without bind_dn"},
		{name: "bind DN not a DN", change: func(c *Config) { c.BindDN = "reader" }, want: "bind_dn"},
		{name: "no search base", change: func(c *Config) { c.UserSearchBase = "" }, want: "user_search_base"},
		{name: "filter without placeholder", change: func(c *Config) { c.UserFilter = "(uid=alice)" }, want: "no %s"},
		{name: "filter not a filter", change: func(c *Config) { c.UserFilter = "(uid=%s" }, want: "not an LDAP filter"},
		{name: "group base without filter", change: func(c *Config) { c.GroupSearchBase = "dc=example,dc=com" }, want: "go together"},
		{name: "group filter without placeholder", change: func(c *Config) {
			c.GroupSearchBase, c.GroupFilter = "dc=example,dc=com", "(objectClass=group)"
		}, want: "group_filter"},
		{name: "attribute with a filter in it", change: func(c *Config) { c.EmailAttr = "mail)(x=*" }, want: "email_attr"},
		{name: "negative timeout", change: func(c *Config) { c.Timeout = -time.Second }, want: "negative"},
		{name: "huge pool", change: func(c *Config) { c.PoolSize = 1000 }, want: "pool_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			c, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{ConnectorID: "corp", URL: "ldap://127.0.0.1", UserSearchBase: "dc=example,dc=test", UserFilter: "(uid=%s)"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := c.cfg
	if got.UsernameAttr != "uid" || got.EmailAttr != "mail" || got.NameAttr != "cn" || got.GroupNameAttr != "cn" ||
		got.Timeout != DefaultTimeout || got.PoolSize != DefaultPoolSize || got.IDAttr != "" || c.ep.addr != "127.0.0.1:389" {
		t.Errorf("defaults: %+v, address %s", got, c.ep.addr)
	}
}
