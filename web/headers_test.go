package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/static"
)

var nonceRE = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/]{22})';`)

func checkPageHeaders(t *testing.T, name string, hdr http.Header, https bool) string {
	t.Helper()
	csp := hdr.Get("Content-Security-Policy")
	for _, d := range []string{
		"default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'",
		"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
		"report-uri " + CSPReportPath, "report-to " + cspReportEndpoint,
	} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", name, csp, d)
		}
	}
	m := nonceRE.FindStringSubmatch(csp)
	if m == nil {
		t.Errorf("%s: CSP %q has no script nonce", name, csp)
	}
	want := map[string]string{
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Cache-Control":              "no-store",
		"Reporting-Endpoints":        cspReportEndpoint + `="` + CSPReportPath + `"`,
	}
	for k, v := range want {
		if got := hdr.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", name, k, got, v)
		}
	}
	hsts := hdr.Get("Strict-Transport-Security")
	if https && hsts != "max-age=31536000; includeSubDomains" {
		t.Errorf("%s: Strict-Transport-Security = %q on an https issuer", name, hsts)
	}
	if !https && hsts != "" {
		t.Errorf("%s: Strict-Transport-Security sent for an http issuer", name)
	}
	if m == nil {
		return ""
	}
	return m[1]
}

func TestSecurityHeaders(t *testing.T) {
	for _, tls := range []bool{false, true} {
		e := newEnv(t, tls)
		c, id := signedIn(t, e)
		token := csrf(t, e.get(c, e.h.SignInURL(e.newRequest())))
		pages := []struct {
			name string
			get  func() page
		}{
			{"login", func() page { return e.get(c, e.h.SignInURL(e.newRequest())) }},
			{"consent", func() page { return e.get(c, e.h.ConsentURL(id)) }},
			{"logged out", func() page { return e.get(c, "/logged-out") }},
			{"expired request", func() page { return e.get(c, "/login?id=nope") }},
			{"failed sign-in", func() page {
				return e.post(c, "/login", url.Values{"id": {e.newRequest()}, "csrf_token": {token}, "username": {"alice"}, "password": {"no"}})
			}},
			{"csrf failure", func() page { return e.post(c, "/login", url.Values{"id": {id}}) }},
			{"cross-site", func() page {
				return e.post(c, "/login", url.Values{"id": {id}}, "Sec-Fetch-Site", "cross-site")
			}},
		}
		seen := map[string]bool{}
		for _, p := range pages {
			got := p.get()
			name := p.name
			if tls {
				name += " (https)"
			}
			if ct := got.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", name, ct)
			}
			nonce := checkPageHeaders(t, name, got.header, tls)
			if seen[nonce] {
				t.Errorf("%s: nonce reused", name)
			}
			seen[nonce] = true
			if strings.Contains(got.body, "https://") && strings.Contains(got.body, "<link") &&
				regexp.MustCompile(`(href|src)="https?://`).MatchString(got.body) {
				t.Errorf("%s: page loads a resource from another origin", name)
			}
		}
	}
}

func TestFailStandalone(t *testing.T) {
	e := newEnv(t, false)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/authorize", nil)
	e.h.Fail(w, r, &PublicError{Status: http.StatusBadRequest, Title: "error.unknown_client.title",
		Detail: "error.unknown_client.detail"})
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d", resp.StatusCode)
	}
	checkPageHeaders(t, "Fail", resp.Header, false)
	for _, want := range []string{"<h1>Unknown application</h1>", "Contact the application&#39;s administrator.", `role="alert"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("error page lacks %q:\n%s", want, body)
		}
	}
}

func TestUserInputIsEscaped(t *testing.T) {
	const evil = `"><script>alert(1)</script>`
	e := newEnv(t, false)
	ctx := context.Background()
	_, err := e.store.UpdateClient(ctx, "app", func(cl *storage.Client) error { cl.Name = evil; return nil })
	e.must(err)
	e.addUser("u-evil", "mallory", "plain:"+alicePassword, false)
	_, err = e.store.UpdateUser(ctx, "u-evil", func(u *storage.User) error { u.Name = evil; return nil })
	e.must(err)

	c := e.browser()
	id := e.newRequest(func(r *storage.AuthRequest) {
		r.LoginHint = evil
		r.Scopes = []string{"openid", evil}
	})
	login := e.get(c, e.h.SignInURL(id))
	failed := e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {csrf(t, login)}, "username": {evil}, "password": {"x"}})
	if p := e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {csrf(t, login)}, "username": {"mallory"}, "password": {alicePassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.status)
	}
	consent := e.get(c, e.h.ConsentURL(id))
	for name, p := range map[string]page{"login": login, "failed login": failed, "consent": consent} {
		if strings.Contains(p.body, "<script>") {
			t.Errorf("%s page contains an unescaped script:\n%s", name, p.body)
		}
		if !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s page does not show the escaped text:\n%s", name, p.body)
		}
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, true)
	c := e.browser()
	tests := []struct {
		name, path, wantType string
		wantStatus           int
	}{
		{"stylesheet", static.Stylesheet, "text/css; charset=utf-8", http.StatusOK},
		{"logo", static.Logo, "image/svg+xml", http.StatusOK},
		{"directory listing", "/static/", "", http.StatusNotFound},
		{"missing file", "/static/nope.js", "", http.StatusNotFound},
		{"path traversal", "/static/../web.go", "", 0}, // anything but 200
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.get(c, tt.path)
			if tt.wantStatus == 0 {
				if got.status == http.StatusOK {
					t.Fatalf("served %q:\n%s", tt.path, got.body)
				}
				return
			}
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d", got.status, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			if ct := got.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if got.header.Get("X-Content-Type-Options") != "nosniff" || got.header.Get("Strict-Transport-Security") == "" {
				t.Errorf("headers: %v", got.header)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	base := func() Config {
		return Config{Store: memoryStore(), Hasher: &fakeHasher{}, Issuer: "https://id.example.com",
			CallbackURL: func(string) string { return "/cb" }}
	}
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{name: "valid https", modify: func(*Config) {}, ok: true},
		{name: "valid http localhost", modify: func(c *Config) { c.Issuer = "http://localhost:8080" }, ok: true},
		{name: "no store", modify: func(c *Config) { c.Store = nil }},
		{name: "no hasher", modify: func(c *Config) { c.Hasher = nil }},
		{name: "no callback", modify: func(c *Config) { c.CallbackURL = nil }},
		{name: "relative issuer", modify: func(c *Config) { c.Issuer = "/id" }},
		{name: "ftp issuer", modify: func(c *Config) { c.Issuer = "ftp://id.example.com" }},
		{name: "short CSRF key", modify: func(c *Config) { c.CSRFKey = []byte("short") }},
		{name: "store without sessions", modify: func(c *Config) { c.Store = pagesOnlyStore{c.Store} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.modify(&cfg)
			h, err := New(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok=%v", err, tt.ok)
			}
			if h != nil {
				if got := h.SignInURL("a b&c"); got != "/login?id=a+b%26c" {
					t.Errorf("SignInURL = %q", got)
				}
				if got := h.ConsentURL("abc"); got != "/consent?id=abc" {
					t.Errorf("ConsentURL = %q", got)
				}
			}
		})
	}
}

func TestRedirectSource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://app.example/cb?x=1", "https://app.example"},
		{"http://127.0.0.1:49152/callback", "http://127.0.0.1:49152"},
		{"HTTPS://App.Example:8443/cb", "https://App.Example:8443"},
		{"http://[::1]:8080/cb", "http://[::1]:8080"},
		{"com.example.app:/oauth2redirect", "com.example.app:"},
		{"https://app.example;script-src *", ""},
		{"https://a b/", ""},
		{"not a uri", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := redirectSource(tt.in); got != tt.want {
			t.Errorf("redirectSource(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAllowFormAction(t *testing.T) {
	tests := []struct {
		name, redirectURI string
		wrapped           bool
		want              string
	}{
		{name: "inside SecurityHeaders", redirectURI: "https://app.example/cb", wrapped: true, want: "form-action 'self' https://app.example;"},
		{name: "without a nonce", redirectURI: "https://app.example/cb", want: "script-src 'none';"},
		{name: "unsafe URI leaves the policy alone", redirectURI: "https://a.example;script-src *", wrapped: true, want: "form-action 'self';"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				AllowFormAction(w, r, tt.redirectURI)
			})
			if tt.wrapped {
				h = SecurityHeaders(h)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, tt.want) {
				t.Errorf("CSP %q lacks %q", csp, tt.want)
			}
		})
	}
}

// pagesOnlyStore is a Store that is not a session.Store: without
// Config.Sessions, New cannot build the session owner over it.
type pagesOnlyStore struct{ Store }
