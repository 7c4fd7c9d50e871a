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
