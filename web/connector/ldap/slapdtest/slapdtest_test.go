package slapdtest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestServer checks what the connector tests rely on: the service
// account reads users and groups, a user binds with its password and not
// with another, LDAPS and StartTLS verify against CAFile, and Stop and
// Start keep the directory.
func TestServer(t *testing.T) {
	s := Start(t, Options{TLS: true})
	pem, err := os.ReadFile(s.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CAFile holds no certificate")
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}

	dials := []struct {
		name string
		dial func() (*ldap.Conn, error)
	}{
		{"plain", func() (*ldap.Conn, error) { return ldap.DialURL(s.URL()) }},
		{"ldaps", func() (*ldap.Conn, error) { return ldap.DialURL(s.LDAPSURL(), ldap.DialWithTLSConfig(tlsConf)) }},
		{"starttls", func() (*ldap.Conn, error) {
			c, err := ldap.DialURL(s.URL())
			if err != nil {
				return nil, err
			}
			return c, c.StartTLS(tlsConf)
		}},
	}
	for _, d := range dials {
		t.Run(d.name, func(t *testing.T) {
			c, err := d.dial()
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if err := c.Bind(ServiceDN, ServicePassword); err != nil {
				t.Fatalf("service bind: %v", err)
			}
			res, err := c.Search(ldap.NewSearchRequest(GroupsBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(member="+ldap.EscapeFilter(UserDN("Alice Liddell"))+")", []string{"cn"}, nil))
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			var names []string
			for _, e := range res.Entries {
				names = append(names, e.GetAttributeValue("cn"))
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"admins", "devs"}) {
				t.Errorf("alice's groups = %v, want [admins devs]", names)
			}
			if err := c.Bind(UserDN("Alice Liddell"), "alice-password"); err != nil {
				t.Errorf("alice bind: %v", err)
			}
			if err := c.Bind(UserDN("Alice Liddell"), "bob-password"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Errorf("alice bind with bob's password: %v, want invalid credentials", err)
			}
		})
	}

	s.Stop()
	if _, err := ldap.DialURL(s.URL()); err == nil {
		t.Fatal("dial after Stop succeeded")
	}
	s.Start()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatalf("dial after Start: %v", err)
	}
	defer c.Close()
	if err := c.Bind(UserDN("Bob Builder"), "bob-password"); err != nil {
		t.Errorf("bob bind after restart: %v", err)
	}
}
