package connector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestValidate(t *testing.T) {
	ok := Config{ID: "google", Type: TypeOIDC, Name: Names{"": "Google"}, ClientID: "c", ClientSecret: "s",
		Issuer: "https://accounts.google.com"}
	tests := []struct {
		name string
		list func() []Config
		want string // "" for valid
	}{
		{"valid", func() []Config { return []Config{ok} }, ""},
		{"bad id", func() []Config { c := ok; c.ID = "Bad ID"; return []Config{c} }, "id must be"},
		{"duplicate id", func() []Config { return []Config{ok, ok} }, "appears twice"},
		{"no name", func() []Config { c := ok; c.Name = nil; return []Config{c} }, "name is required"},
		{"unknown type", func() []Config { c := ok; c.Type = "saml"; return []Config{c} }, "not one of"},
		{"no secret", func() []Config { c := ok; c.ClientSecret = ""; return []Config{c} }, "client_secret"},
		{"both secrets", func() []Config { c := ok; c.ClientSecretFile = "/x"; return []Config{c} }, "not both"},
		{"relative issuer", func() []Config { c := ok; c.Issuer = "accounts.google.com"; return []Config{c} }, "issuer"},
		{"github end session", func() []Config {
			c := ok
			c.Type, c.Issuer, c.EndSessionRedirect = TypeGitHub, "", true
			return []Config{c}
		}, "end_session_redirect"},
		{"ldap without url", func() []Config { return []Config{{ID: "ad", Type: TypeLDAP, Name: Names{"": "AD"}}} }, "ldap.url"},
		{"ldap", func() []Config {
			return []Config{{ID: "ad", Type: TypeLDAP, Name: Names{"": "AD"}, LDAP: &LDAPConfig{URL: "ldaps://dc", UserSearchBase: "dc=x"}}}
		}, ""},
		{"ldap both bind passwords", func() []Config {
			return []Config{{ID: "ad", Type: TypeLDAP, Name: Names{"": "AD"}, LDAP: &LDAPConfig{URL: "ldaps://dc",
				UserSearchBase: "dc=x", BindPassword: "p", BindPasswordFile: "/f"}}}
		}, "not both"},
		{"ldap with a client id", func() []Config {
			return []Config{{ID: "ad", Type: TypeLDAP, Name: Names{"": "AD"}, ClientID: "x",
				LDAP: &LDAPConfig{URL: "ldaps://dc", UserSearchBase: "dc=x"}}}
		}, "go under ldap:"},
		{"ldap trust_amr", func() []Config {
			return []Config{{ID: "ad", Type: TypeLDAP, Name: Names{"": "AD"}, TrustAMR: true,
				LDAP: &LDAPConfig{URL: "ldaps://dc", UserSearchBase: "dc=x"}}}
		}, "trust_amr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.list())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNamesAndRedaction(t *testing.T) {
	var c struct{ A, B Names }
	if err := yaml.Unmarshal([]byte("a: GitHub\nb: {en: Google, ja: グーグル}\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.A.For("ja") != "GitHub" || c.B.For("ja") != "グーグル" || c.B.For("fr") != "Google" {
		t.Fatalf("names %+v", c)
	}
	list := []Config{{ClientSecret: "s3cret", LDAP: &LDAPConfig{BindPassword: "pw"}}}
	r := Redacted(list)
	if r[0].ClientSecret != "(redacted)" || r[0].LDAP.BindPassword != "(redacted)" || list[0].LDAP.BindPassword != "pw" {
		t.Fatalf("redacted %+v (original changed: %v)", r[0], list[0].LDAP.BindPassword != "pw")
	}
	b, _ := r[0].MarshalJSON()
	if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "redacted") {
		t.Fatalf("JSON shows a secret field: %s", b)
	}
}

// TestLDAPKeys: every key package web/connector/ldap documents decodes
// into the ldap block (unknown keys are refused, as the configuration
// loader does), and BindSecret reads the password file.
func TestLDAPKeys(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `id: ad
type: ldap
name: AD
jit: true
timeout: 5s
ldap:
  url: ldaps://dc.example.com
  start_tls: false
  ca_file: /etc/ca.pem
  insecure_skip_verify: true
  insecure_no_tls: true
  bind_dn: cn=svc,dc=example,dc=com
  bind_password_file: ` + pwFile + `
  user_search_base: ou=people,dc=example,dc=com
  user_filter: (&(objectClass=user)(sAMAccountName=%s))
  username_attr: sAMAccountName
  id_attr: objectGUID
  email_attr: mail
  email_verified: true
  name_attr: displayName
  group_search_base: ou=groups,dc=example,dc=com
  group_filter: (&(objectClass=group)(member=%s))
  group_name_attr: cn
  pool_size: 8
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := LDAPConfig{URL: "ldaps://dc.example.com", CAFile: "/etc/ca.pem", InsecureSkipVerify: true, InsecureNoTLS: true,
		BindDN: "cn=svc,dc=example,dc=com", BindPasswordFile: pwFile, UserSearchBase: "ou=people,dc=example,dc=com",
		UserFilter: "(&(objectClass=user)(sAMAccountName=%s))", UsernameAttr: "sAMAccountName", IDAttr: "objectGUID",
		EmailAttr: "mail", EmailVerified: true, NameAttr: "displayName", GroupSearchBase: "ou=groups,dc=example,dc=com",
		GroupFilter: "(&(objectClass=group)(member=%s))", GroupNameAttr: "cn", PoolSize: 8}
	if c.LDAP == nil || *c.LDAP != want || !c.JIT || c.CallTimeout().String() != "5s" {
		t.Fatalf("decoded %+v / %+v", c, c.LDAP)
	}
	if err := Validate([]Config{c}); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if pw, err := c.BindSecret(); err != nil || pw != "s3cret" {
		t.Fatalf("BindSecret = %q, %v", pw, err)
	}
	c.LDAP.BindPasswordFile = filepath.Join(dir, "missing")
	if _, err := c.BindSecret(); err == nil || !strings.Contains(err.Error(), "bind_password_file") {
		t.Fatalf("missing file: %v", err)
	}
}
