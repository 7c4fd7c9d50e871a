package clientpolicy

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		name    string
		uri     string
		native  bool
		wantErr string // empty: accepted
	}{
		// Accepted.
		{name: "https", uri: "https://a.test/cb"},
		{name: "https with port and query", uri: "https://a.test:8443/cb?tenant=1"},
		{name: "loopback IPv4", uri: "http://127.0.0.1/cb"},
		{name: "loopback IPv4 with port", uri: "http://127.0.0.1:51234/cb"},
		{name: "loopback IPv6", uri: "http://[::1]/cb"},
		{name: "localhost", uri: "http://localhost:3000/callback"},
		{name: "loopback for native", uri: "http://127.0.0.1/cb", native: true},
		{name: "claimed https for native", uri: "https://app.example.com/oauth", native: true},
		{name: "private-use scheme for native", uri: "com.example.app:/cb", native: true},
		{name: "private-use scheme with authority for native", uri: "com.example.app://cb", native: true},
		{name: "upper-case https kept as given", uri: "HTTPS://a.test/cb"},
		{name: "percent-encoded path", uri: "https://a.test/c%20b"},
		{name: "exactly 2048 characters", uri: "https://a.test/" + strings.Repeat("x", 2048-len("https://a.test/"))},

		// Refused (security checklist D5 and A1/A2 vectors).
		{name: "fragment", uri: "https://a.test/cb#x", wantErr: "fragment"},
		{name: "empty fragment", uri: "https://a.test/cb#", wantErr: "fragment"},
		{name: "plain http", uri: "http://a.test/cb", wantErr: "must use https"},
		{name: "wildcard host", uri: "https://*.a.test/cb", wantErr: "wildcards"},
		{name: "wildcard path", uri: "https://a.test/*", wantErr: "wildcards"},
		{name: "javascript", uri: "javascript:alert(1)", wantErr: `forbidden scheme "javascript"`},
		{name: "javascript mixed case", uri: "JavaScript:alert(1)", wantErr: `forbidden scheme "javascript"`},
		{name: "javascript for native", uri: "javascript:alert(1)", native: true, wantErr: "forbidden scheme"},
		{name: "data", uri: "data:text/html,<script>alert(1)</script>", wantErr: "forbidden scheme"},
		{name: "data for native", uri: "data:text/html,x", native: true, wantErr: "forbidden scheme"},
		{name: "vbscript", uri: "vbscript:msgbox(1)", wantErr: "forbidden scheme"},
		{name: "file", uri: "file:///etc/passwd", wantErr: "forbidden scheme"},
		{name: "userinfo", uri: "https://user@a.test/cb", wantErr: "user information"},
		{name: "userinfo with password", uri: "https://user:pw@a.test/cb", wantErr: "user information"},
		{name: "double userinfo", uri: "https://a@b@evil.test/cb", wantErr: "user information"},
		{name: "localhost userinfo trick (CVE-2024-8883)", uri: "http://localhost:80@attacker.test/cb", wantErr: "user information"},
		{name: "loopback userinfo trick", uri: "http://127.0.0.1:80@evil.test/cb", wantErr: "user information"},
		{name: "code in query", uri: "https://a.test/cb?code=1", wantErr: `"code"`},
		{name: "state in query", uri: "https://a.test/cb?state=1", wantErr: `"state"`},
		{name: "iss in query", uri: "https://a.test/cb?x=1&iss=y", wantErr: `"iss"`},
		{name: "invalid query", uri: "https://a.test/cb?a=%zz", wantErr: "invalid query"},
		{name: "relative", uri: "/cb", wantErr: "must be absolute"},
		{name: "scheme-relative", uri: "//evil.test/cb", wantErr: "must be absolute"},
		{name: "trailing newline", uri: "https://a.test/cb\n", wantErr: "control"},
		{name: "tab", uri: "https://a.test/cb\t", wantErr: "control"},
		{name: "space", uri: "https://a.test/c b", wantErr: "spaces"},
		{name: "non-ASCII host", uri: "https://аpple.test/cb", wantErr: "non-ASCII"},
		{name: "too long", uri: "https://a.test/" + strings.Repeat("x", 2048), wantErr: "longer than 2048"},
		{name: "empty", uri: "", wantErr: "is empty"},
		{name: "backslash", uri: `https://a.test\@evil.test/cb`, wantErr: "backslash"},
		{name: "dot-dot segment", uri: "https://a.test/cb/../evil", wantErr: "path segments"},
		{name: "encoded dot-dot segment", uri: "https://a.test/cb%2F..%2Fevil", wantErr: "path segments"},
		{name: "no host", uri: "https:///cb", wantErr: "must have a host"},
		{name: "opaque https", uri: "https:a.test/cb", wantErr: "path starting with /"},
		{name: "localhost lookalike", uri: "http://localhost.evil.test/cb", wantErr: "must use https"},
		{name: "loopback with trailing dot", uri: "http://127.0.0.1./cb", wantErr: "must use https"},
		{name: "private-use scheme for web client", uri: "com.example.app:/cb", wantErr: "only for native clients"},
		{name: "private-use scheme without a dot", uri: "myapp:/cb", native: true, wantErr: "reverse domain name"},
		{name: "ftp", uri: "ftp://a.test/cb", wantErr: "must use https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRedirectURI(tc.uri, tc.native)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ValidateRedirectURI(%q, native=%v) = %v, want accepted", tc.uri, tc.native, err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("ValidateRedirectURI(%q, native=%v) accepted, want error containing %q", tc.uri, tc.native, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("ValidateRedirectURI(%q) = %q, want it to contain %q", tc.uri, err, tc.wantErr)
			}
		})
	}
}

func TestValidateRedirectURIs(t *testing.T) {
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("https://a.test/cb%d", i)
	}
	tests := []struct {
		name string
		uris []string
		want []string // each must appear; none means valid
	}{
		{name: "none", uris: nil},
		{name: "twenty", uris: many[:20]},
		{name: "twenty-one", uris: many, want: []string{"too many redirect URIs: 21"}},
		{name: "duplicate", uris: []string{"https://a.test/cb", "https://a.test/cb"}, want: []string{`redirect URI "https://a.test/cb" is listed twice`}},
		{
			name: "every bad URI reported",
			uris: []string{"http://a.test/cb", "https://a.test/cb#x"},
			want: []string{`redirect URI "http://a.test/cb" must use https`, `redirect URI "https://a.test/cb#x" must not contain a fragment`},
		},
		{name: "control characters quoted", uris: []string{"https://a.test/cb\n"}, want: []string{`"https://a.test/cb\n"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRedirectURIs("redirect URI", tc.uris, false)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}
