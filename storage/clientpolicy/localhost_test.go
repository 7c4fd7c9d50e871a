package clientpolicy_test

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// TestLocalhostNames (issue #13 item 5): http is accepted on localhost
// and every name under .localhost (RFC 6761 §6.3; W3C Secure Contexts
// §3.2), alike for redirect, post-logout and back-channel logout URIs; a
// name that only looks like one is refused.
func TestLocalhostNames(t *testing.T) {
	cases := []struct {
		name string
		host string
		ok   bool
	}{
		{"localhost", "localhost", true},
		{"subdomain", "app1.localhost", true},
		{"subdomain with port", "app1.localhost:9001", true},
		{"deeper subdomain", "a.b-c.localhost", true},
		{"upper case", "App1.LOCALHOST", true},
		{"loopback IPv4", "127.0.0.1", true},
		{"loopback IPv6", "[::1]", true},
		{"lookalike suffix", "localhost.evil.test", false},
		{"lookalike label", "evillocalhost", false},
		{"lookalike middle", "app.localhost.evil.test", false},
		{"empty label", "app..localhost", false},
		{"leading dot", ".localhost", false},
		{"trailing dot", "app1.localhost.", false},
		{"hyphen at label start", "-app.localhost", false},
		{"underscore", "my_app.localhost", false},
		{"public name", "app.example", false},
	}
	kinds := []struct {
		name  string
		field string
		set   func(c *storage.Client, uri string)
	}{
		{"redirect", clientpolicy.FieldRedirectURIs, func(c *storage.Client, u string) { c.RedirectURIs = []string{u} }},
		{"post-logout", clientpolicy.FieldPostLogoutURIs, func(c *storage.Client, u string) { c.PostLogoutRedirectURIs = []string{u} }},
		{"back-channel", clientpolicy.FieldBackchannelLogoutURI, func(c *storage.Client, u string) { c.BackchannelLogoutURI = u }},
	}
	for _, tc := range cases {
		for _, k := range kinds {
			t.Run(tc.name+"/"+k.name, func(t *testing.T) {
				c := validClient()
				uri := "http://" + tc.host + "/cb"
				k.set(c, uri)
				// A loopback back-channel URI is a private address: allowed
				// here so the scheme rule is what is tested (the network
				// rule has its own tests in backchannel_test.go).
				msgs := clientpolicy.ValidateClient(c, clientpolicy.AllowPrivateBackchannel(true)).ByField()[k.field]
				switch {
				case tc.ok && len(msgs) > 0:
					t.Errorf("%s %q refused: %v", k.name, uri, msgs)
				case !tc.ok && len(msgs) == 0:
					t.Errorf("%s %q accepted, want refused", k.name, uri)
				case !tc.ok && !strings.Contains(strings.Join(msgs, " "), "must use https"):
					t.Errorf("%s %q refused with %v, want \"must use https\"", k.name, uri, msgs)
				}
			})
		}
	}
	// https is unaffected, and the rule does not open http for a native
	// client's other hosts.
	if err := clientpolicy.ValidateRedirectURI("https://app1.localhost/cb", false); err != nil {
		t.Errorf("https on a .localhost name refused: %v", err)
	}
	if err := clientpolicy.ValidateRedirectURI("http://app.example/cb", true); err == nil {
		t.Error("http on a public name accepted for a native client")
	}
}

// TestIsLoopbackHost checks the host rule alone, as the back-channel
// private-network check and others use it.
func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "x.localhost": true, "127.0.0.1": true, "::1": true,
		"": false, "localhost.": false, "x.localhost.": false, "localhost.test": false, "127.0.0.2": false,
		"xlocalhost": false, strings.Repeat("a", 64) + ".localhost": false,
	} {
		if got := clientpolicy.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
