package op

import (
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestChecklistA1RedirectURIExactMatch covers security checklist A1 and A2:
// only byte-exact registered URIs match, except the port of a loopback IP
// literal for native clients.
func TestChecklistA1RedirectURIExactMatch(t *testing.T) {
	web := &storage.Client{ApplicationType: storage.ApplicationWeb, RedirectURIs: []string{"https://app1.test/cb"}}
	native := &storage.Client{ApplicationType: storage.ApplicationNative,
		RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb", "com.example.app:/cb"}}
	for _, tc := range []struct {
		name   string
		client *storage.Client
		uri    string
		want   bool
	}{
		{"A1/exact", web, "https://app1.test/cb", true},
		{"A1/trailing-slash", web, "https://app1.test/cb/", false},
		{"A1/path-case", web, "https://app1.test/CB", false},
		{"A1/scheme-host-case", web, "HTTPS://APP1.TEST/cb", false},
		{"A1/default-port", web, "https://app1.test:443/cb", false},
		{"A1/http", web, "http://app1.test/cb", false},
		{"A1/query-added", web, "https://app1.test/cb?x=1", false},
		{"A1/fragment", web, "https://app1.test/cb#f", false},
		{"A1/dot-dot", web, "https://app1.test/cb/../evil", false},
		{"A1/dot-dot-semicolon", web, "https://app1.test/cb/..;/evil", false},
		{"A1/encoded-slash", web, "https://app1.test/cb%2F..%2Fevil", false},
		{"A1/double-encoded", web, "https://app1.test/cb%252f..%252f", false},
		{"A1/suffix-host", web, "https://app1.test.evil.test/cb", false},
		{"A1/userinfo", web, "https://app1.test@evil.test/cb", false},
		{"A1/double-at", web, "https://a@b@evil.test/cb", false},
		{"A1/trailing-space", web, "https://app1.test/cb%20", false},
		{"A1/trailing-tab", web, "https://app1.test/cb%09", false},
		{"A1/backslash", web, "/\thttps://evil.test", false},
		{"A1/scheme-relative", web, "//evil.test/cb", false},
		{"A1/other-host", web, "https://evil.test/cb", false},
		{"A2/web-client-no-loopback-exception", web, "http://127.0.0.1:51234/cb", false},
		{"A2/native-any-port", native, "http://127.0.0.1:51234/cb", true},
		{"A2/native-no-port", native, "http://127.0.0.1/cb", true},
		{"A2/native-ipv6-port", native, "http://[::1]:8000/cb", true},
		{"A2/native-other-path", native, "http://127.0.0.1:51234/cb/x", false},
		{"A2/native-localhost-name", native, "http://localhost:51234/cb", false},
		{"A2/native-userinfo-trick", native, "http://127.0.0.1:80@evil.test/cb", false},
		{"A2/native-other-loopback", native, "http://127.0.0.2:80/cb", false},
		{"A2/native-query", native, "http://127.0.0.1:5000/cb?x=1", false},
		{"A2/native-custom-scheme", native, "com.example.app:/cb", true},
		{"A2/native-https-loopback", native, "https://127.0.0.1:5000/cb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redirectURIAllowed(tc.client, tc.uri); got != tc.want {
				t.Fatalf("redirectURIAllowed(%q) = %v, want %v", tc.uri, got, tc.want)
			}
		})
	}
}

func FuzzRedirectURIAllowed(f *testing.F) {
	for _, s := range []string{"https://app1.test/cb", "http://127.0.0.1:1/cb", "http://[::1]:9/cb", "//evil", "http://127.0.0.1:80@evil.test/cb"} {
		f.Add(s)
	}
	native := &storage.Client{ApplicationType: storage.ApplicationNative, RedirectURIs: []string{"http://127.0.0.1/cb", "https://app1.test/cb"}}
	f.Fuzz(func(t *testing.T, uri string) {
		if !redirectURIAllowed(native, uri) {
			return
		}
		// Property (checklist B13): an accepted URI is a registered one or
		// its loopback-port variant.
		if uri == "https://app1.test/cb" || uri == "http://127.0.0.1/cb" {
			return
		}
		if got, ok := loopbackWithoutPort(uri); !ok || got != "http://127.0.0.1/cb" {
			t.Fatalf("accepted %q", uri)
		}
	})
}
