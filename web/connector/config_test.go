package connector

import (
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
