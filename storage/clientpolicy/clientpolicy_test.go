package clientpolicy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

func validClient() *storage.Client {
	return &storage.Client{ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"openid"}}
}

// TestFields: every problem ValidateClient reports is filed under the
// field it is about, so a form can show it there.
func TestFields(t *testing.T) {
	cases := []struct {
		name   string
		change func(*storage.Client)
		want   map[string]int // field → number of problems
	}{
		{"valid", func(*storage.Client) {}, map[string]int{}},
		{"id with space", func(c *storage.Client) { c.ID = "a b" }, map[string]int{clientpolicy.FieldID: 1}},
		{"two bad redirect URIs", func(c *storage.Client) { c.RedirectURIs = []string{"http://x.example/", "https://x.example/*"} },
			map[string]int{clientpolicy.FieldRedirectURIs: 2}},
		{"bad post-logout URI", func(c *storage.Client) { c.PostLogoutRedirectURIs = []string{"javascript:alert(1)"} },
			map[string]int{clientpolicy.FieldPostLogoutURIs: 1}},
		{"bad back-channel URI and TTL", func(c *storage.Client) {
			c.BackchannelLogoutURI = "http://rp.example/bc"
			c.AccessTokenTTL = 1
		}, map[string]int{clientpolicy.FieldBackchannelLogoutURI: 1, clientpolicy.FieldAccessTokenTTL: 1}},
		{"no grant, no scope", func(c *storage.Client) { c.GrantTypes, c.Scopes = nil, nil },
			map[string]int{clientpolicy.FieldGrantTypes: 1, clientpolicy.FieldScopes: 1}},
		{"alg none", func(c *storage.Client) { c.IDTokenSigningAlg = "none" }, map[string]int{clientpolicy.FieldIDTokenAlg: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validClient()
			tc.change(c)
			err := clientpolicy.ValidateClient(c)
			got := map[string]int{}
			n := 0
			for f, msgs := range err.ByField() {
				got[f] = len(msgs)
				n += len(msgs)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fields = %v, want %v (error %v)", got, tc.want, err)
			}
			// The messages are exactly the lines of the error, as the CLI prints it.
			if len(err) > 0 && n != len(strings.Split(err.Error(), "\n")) {
				t.Errorf("%d field messages for %d error lines", n, len(strings.Split(err.Error(), "\n")))
			}
		})
	}
}

// TestEveryFieldRefusesBadText: a NUL byte (PostgreSQL cannot store it),
// invalid UTF-8 or a control character is refused in every text field of
// a client, under that field, in words that name no flag.
func TestEveryFieldRefusesBadText(t *testing.T) {
	fields := []struct {
		field string
		set   func(*storage.Client, string)
	}{
		{clientpolicy.FieldID, func(c *storage.Client, s string) { c.ID = s }},
		{clientpolicy.FieldName, func(c *storage.Client, s string) { c.Name = s }},
		{clientpolicy.FieldAuthMethod, func(c *storage.Client, s string) { c.AuthMethod = s }},
		{clientpolicy.FieldApplicationType, func(c *storage.Client, s string) { c.ApplicationType = s }},
		{clientpolicy.FieldRedirectURIs, func(c *storage.Client, s string) { c.RedirectURIs = []string{"https://app.example/cb" + s} }},
		{clientpolicy.FieldPostLogoutURIs, func(c *storage.Client, s string) { c.PostLogoutRedirectURIs = []string{"https://app.example/bye" + s} }},
		{clientpolicy.FieldBackchannelLogoutURI, func(c *storage.Client, s string) { c.BackchannelLogoutURI = "https://app.example/bc" + s }},
		{clientpolicy.FieldIDTokenAlg, func(c *storage.Client, s string) { c.IDTokenSigningAlg = "RS256" + s }},
		{clientpolicy.FieldGrantTypes, func(c *storage.Client, s string) { c.GrantTypes = []string{"authorization_code" + s} }},
		{clientpolicy.FieldScopes, func(c *storage.Client, s string) { c.Scopes = []string{"openid" + s} }},
	}
	for _, bad := range []struct{ name, s string }{{"NUL", "a\x00"}, {"invalid UTF-8", "\xff"}, {"newline", "a\nb"}, {"DEL", "\x7f"}} {
		for _, f := range fields {
			t.Run(bad.name+"/"+f.field, func(t *testing.T) {
				c := validClient()
				f.set(c, bad.s)
				errs := clientpolicy.ValidateClient(c)
				if len(errs) == 0 {
					t.Fatalf("%q accepted in %s", bad.s, f.field)
				}
				for _, e := range errs {
					if e.Field != f.field {
						t.Errorf("problem filed under %q, want %q: %v", e.Field, f.field, e)
					}
					if strings.Contains(e.Message, "--") || strings.ContainsFunc(e.Message, func(r rune) bool { return r < ' ' || r == 0x7f }) {
						t.Errorf("message %q names a flag or carries a control character", e.Message)
					}
				}
			})
		}
	}
}

// TestMessagesNameNoDoor: no message of the policy carries a command-line
// flag or a form label, whatever the problem.
func TestMessagesNameNoDoor(t *testing.T) {
	c := &storage.Client{AuthMethod: storage.AuthMethodNone, GrantTypes: []string{"refresh_token", "client_credentials"},
		RedirectURIs: nil, AccessTokenTTL: 1, RefreshTokenTTL: 1, IDTokenTTL: -1}
	errs := clientpolicy.ValidateClient(c)
	if len(errs) < 6 {
		t.Fatalf("only %d problems found: %v", len(errs), errs)
	}
	for _, e := range errs {
		if e.Field == "" || strings.Contains(e.Message, "--") {
			t.Errorf("problem %+v: want a field and a message without flags", e)
		}
	}
}
