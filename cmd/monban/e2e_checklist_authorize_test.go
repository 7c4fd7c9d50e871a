package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// noFollow is an HTTP client that shows every redirect to the test.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request and returns the response with its body read.
func call(t *testing.T, method, u string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authzFixture is a provider with the checklist's clients: web1
// (confidential, two redirect URIs registered for A3), spa1 (public),
// cli1 (native, loopback) and a disabled client.
type authzFixture struct {
	p         *testProvider
	challenge string
}

func newAuthzFixture(t *testing.T) *authzFixture {
	p := newTestServer(t)
	p.addUser(t, "alice", alicePassword)
	p.addClient(t, storage.Client{ID: "web1", Name: "Web One", RedirectURIs: []string{"https://app1.test/cb", "https://app1.test/cb2"}})
	p.addClient(t, storage.Client{ID: "web2", Name: "Web Two", RedirectURIs: []string{"https://app2.other.test/cb"}})
	p.addClient(t, storage.Client{ID: "single", Name: "Single", RedirectURIs: []string{"https://single.test/cb"}})
	p.addClient(t, storage.Client{ID: "spa1", AuthMethod: storage.AuthMethodNone, RedirectURIs: []string{"https://spa.test/cb"}})
	p.addClient(t, storage.Client{ID: "cli1", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationNative,
		RedirectURIs: []string{"http://127.0.0.1/cb"}})
	p.addClient(t, storage.Client{ID: "off", Disabled: true, RedirectURIs: []string{"https://off.test/cb"}})
	return &authzFixture{p: p, challenge: oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}
}

// authz is the checklist's AUTHZ(x): kv override (empty value deletes).
func (fx *authzFixture) authz(kv ...string) url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {"web1"}, "redirect_uri": {"https://app1.test/cb"},
		"scope": {"openid"}, "state": {"S1"}, "nonce": {"N1"}, "code_challenge": {fx.challenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// opErr checks the checklist's OP-ERR: the provider's own HTML page, 400,
// no Location, no form that submits anywhere, nothing reflected.
func opErr(t *testing.T, resp *http.Response, body string, unreflected ...string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("want OP-ERR (HTML 400, no Location), got %d Location=%q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if strings.Contains(body, "<form") || strings.Contains(body, "iss=") {
		t.Fatal("OP-ERR page carries a form or an iss parameter")
	}
	for _, s := range unreflected {
		if s != "" && strings.Contains(body, s) {
			t.Fatalf("OP-ERR page reflects %q", s)
		}
	}
}

// rpErr checks the checklist's RP-ERR(e) and returns the redirect's query.
func rpErr(t *testing.T, resp *http.Response, issuer, wantRedirect, wantErr string) url.Values {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || (resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther) {
		t.Fatalf("want a redirect to the client, got %d", resp.StatusCode)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != wantRedirect {
		t.Fatalf("redirected to %s, want the registered %s", got, wantRedirect)
	}
	q := loc.Query()
	if q.Get("error") != wantErr || q.Get("iss") != issuer {
		t.Fatalf("got %v, want error=%s and iss=%s", q, wantErr, issuer)
	}
	for k := range q {
		switch k {
		case "error", "error_description", "error_uri", "state", "iss":
		default:
			t.Fatalf("unexpected parameter %q in an error response", k)
		}
	}
	return q
}

// TestChecklistAuthorizeEndpoint covers checklist A1–A4, A7, A14–A18, B1,
// B5, B8 and B11 end to end, with GET and POST (A1: "identical behaviour
// with POST /authorize").
func TestChecklistAuthorizeEndpoint(t *testing.T) {
	fx := newAuthzFixture(t)
	send := func(t *testing.T, method string, v url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		if method == http.MethodPost {
			return call(t, method, fx.p.URL+"/authorize", strings.NewReader(v.Encode()), hdr...)
		}
		return call(t, method, fx.p.URL+"/authorize?"+v.Encode(), nil, hdr...)
	}
	opErrCases := []struct{ name, key, value string }{
		{"A1/trailing-slash", "redirect_uri", "https://app1.test/cb/"},
		{"A1/path-case", "redirect_uri", "https://app1.test/CB"},
		{"A1/scheme-host-case", "redirect_uri", "HTTPS://APP1.TEST/cb"},
		{"A1/default-port", "redirect_uri", "https://app1.test:443/cb"},
		{"A1/http", "redirect_uri", "http://app1.test/cb"},
		{"A1/query-added", "redirect_uri", "https://app1.test/cb?x=1"},
		{"A1/fragment", "redirect_uri", "https://app1.test/cb#f"},
		{"A1/dot-dot", "redirect_uri", "https://app1.test/cb/../evil"},
		{"A1/dot-dot-semicolon", "redirect_uri", "https://app1.test/cb/..;/evil"},
		{"A1/encoded-slash", "redirect_uri", "https://app1.test/cb%2F..%2Fevil"},
		{"A1/double-encoded", "redirect_uri", "https://app1.test/cb%252f..%252f"},
		{"A1/suffix-host", "redirect_uri", "https://app1.test.evil.test/cb"},
		{"A1/userinfo", "redirect_uri", "https://app1.test@evil.test/cb"},
		{"A1/double-at", "redirect_uri", "https://a@b@evil.test/cb"},
		{"A1/trailing-space", "redirect_uri", "https://app1.test/cb%20"},
		{"A1/trailing-tab", "redirect_uri", "https://app1.test/cb%09"},
		{"A1/backslash-tab", "redirect_uri", "/\thttps://evil.test"},
		{"A1/scheme-relative", "redirect_uri", "//evil.test/cb"},
		{"A1/other-host", "redirect_uri", "https://evil.test/cb"},
		{"A1/other-clients-uri", "redirect_uri", "https://app2.other.test/cb"},
		{"A2/loopback-for-web-client", "redirect_uri", "http://127.0.0.1:51234/cb"},
		{"A3/missing-two-registered", "redirect_uri", ""},
		{"A4/unknown-client", "client_id", "nope"},
		{"A4/empty-client", "client_id", ""},
		{"A4/disabled-client", "client_id", "off"},
		{"B8/sql-in-client-id", "client_id", "' OR '1'='1"},
		{"B8/script-in-client-id", "client_id", "<script>alert(1)</script>"},
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		for _, tc := range opErrCases {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				v := fx.authz(tc.key, tc.value)
				if tc.name == "A4/disabled-client" {
					v.Set("redirect_uri", "https://off.test/cb")
				}
				resp, body := send(t, method, v)
				opErr(t, resp, body, "evil.test", "<script>")
			})
		}
	}
	t.Run("A15/form-post-jwt-gets-the-same-redirect-check", func(t *testing.T) {
		// GHSA-9vm7-v8wj-3fqw: a response mode must not bypass A1.
		for _, mode := range []string{"form_post.jwt", "form_post", "jwt", "fragment"} {
			resp, body := send(t, http.MethodGet, fx.authz("redirect_uri", "https://evil.test/cb", "response_mode", mode))
			opErr(t, resp, body, "evil.test")
		}
	})
	t.Run("A3/missing-one-registered", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, fx.authz("client_id", "single", "redirect_uri", ""))
		opErr(t, resp, body)
	})
	t.Run("A4/unknown-and-disabled-look-alike", func(t *testing.T) {
		_, unknown := send(t, http.MethodGet, fx.authz("client_id", "nope", "redirect_uri", "https://off.test/cb"))
		_, disabled := send(t, http.MethodGet, fx.authz("client_id", "off", "redirect_uri", "https://off.test/cb"))
		if withoutReference(unknown) != withoutReference(disabled) { // each page has its own request id
			t.Fatal("the pages for an unknown and a disabled client differ")
		}
	})
	for _, tc := range []struct{ name, key string }{{"B5/client-id-twice", "client_id"}, {"B5/redirect-uri-twice", "redirect_uri"}} {
		t.Run(tc.name, func(t *testing.T) {
			v := fx.authz()
			v.Add(tc.key, v.Get(tc.key))
			resp, body := send(t, http.MethodGet, v)
			opErr(t, resp, body)
		})
	}
	t.Run("A2/native-loopback-any-port", func(t *testing.T) {
		resp, _ := send(t, http.MethodGet, fx.authz("client_id", "cli1", "redirect_uri", "http://127.0.0.1:51234/cb"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
			t.Fatalf("got %d Location=%q, want the request accepted (on to the login page)", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("A7/state-byte-exact-on-error", func(t *testing.T) {
		for _, state := range []string{"a+b c&d=\U0001F511", strings.Repeat("s", 1024)} {
			resp, _ := send(t, http.MethodGet, fx.authz("state", state, "response_type", "token"))
			if q := rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "unsupported_response_type"); q.Get("state") != state {
				t.Fatalf("state = %q, want %q", q.Get("state"), state)
			}
		}
	})
	t.Run("A7/no-state-key-when-none-sent", func(t *testing.T) {
		resp, _ := send(t, http.MethodGet, fx.authz("state", "", "response_type", "token"))
		if q := rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "unsupported_response_type"); q.Has("state") {
			t.Fatal("state key present although none was sent")
		}
	})
	t.Run("A14/request-uri-never-fetched", func(t *testing.T) {
		var hits atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
		defer target.Close()
		resp, _ := send(t, http.MethodGet, fx.authz("request_uri", target.URL+"/req"))
		rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "request_uri_not_supported")
		if hits.Load() != 0 {
			t.Fatal("the provider fetched request_uri (SSRF, CVE-2020-10770)")
		}
	})
	t.Run("A16/iss-on-error-and-code", func(t *testing.T) {
		resp, _ := send(t, http.MethodPost, fx.authz("response_type", "token"))
		rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "unsupported_response_type")
	})
	t.Run("A18/authorize-pages-no-referrer-no-store", func(t *testing.T) {
		for _, v := range []url.Values{fx.authz("redirect_uri", "https://evil.test/cb"), fx.authz()} {
			resp, _ := send(t, http.MethodGet, v)
			if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d: Referrer-Policy %q, Cache-Control %q", resp.StatusCode,
					resp.Header.Get("Referrer-Policy"), resp.Header.Get("Cache-Control"))
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Fatal("CORS header on /authorize")
			}
		}
	})
	t.Run("B1/query-over-8KiB", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, fx.authz("state", strings.Repeat("a", 9<<10)))
		opErr(t, resp, body)
	})
	t.Run("B1/body-over-64KiB", func(t *testing.T) {
		resp, body := send(t, http.MethodPost, fx.authz("scope", "openid "+strings.Repeat("bogus ", 11<<10)))
		opErr(t, resp, body)
	})
	t.Run("B8/injection-in-state-echoed-exactly", func(t *testing.T) {
		state := `'; DROP TABLE clients;-- {{7*7}} <script>%00`
		resp, _ := send(t, http.MethodGet, fx.authz("state", state, "response_type", "token"))
		if q := rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "unsupported_response_type"); q.Get("state") != state {
			t.Fatalf("state = %q", q.Get("state"))
		}
	})
	t.Run("B11/host-and-forwarded-headers-ignored", func(t *testing.T) {
		spoof := []string{"Host", "evil.test", "X-Forwarded-Host", "evil.test", "X-Forwarded-Proto", "https", "Forwarded", "host=evil.test;proto=https"}
		resp, _ := send(t, http.MethodGet, fx.authz("response_type", "token"), spoof...)
		rpErr(t, resp, fx.p.URL, "https://app1.test/cb", "unsupported_response_type")
		resp, _ = send(t, http.MethodGet, fx.authz(), spoof...)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?") {
			t.Fatalf("login redirect %q is not a path on the issuer", loc)
		}
		_, doc := call(t, http.MethodGet, fx.p.URL+"/.well-known/openid-configuration", nil, spoof...)
		if !strings.Contains(doc, `"issuer":"`+fx.p.URL+`"`) || strings.Contains(doc, "evil.test") {
			t.Fatalf("discovery follows the request's Host:\n%s", doc)
		}
	})
}

// TestChecklistResponseHeaders covers checklist S9's "all responses" part
// (and A18): every response — JSON, JWKS, errors, pages, static files —
// carries X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer,
// and with an https issuer Strict-Transport-Security.
func TestChecklistResponseHeaders(t *testing.T) {
	fx := newAuthzFixture(t)
	https := newTestServer(t, withIssuer("https://id.test"), withKEK(fx.p.KEK), withClock(fx.p.Clock)).App.Handler()
	for _, tc := range []struct{ name, method, path string }{
		{"S9/discovery", http.MethodGet, "/.well-known/openid-configuration"},
		{"S9/jwks", http.MethodGet, "/jwks"},
		{"S9/token-error", http.MethodGet, "/token"},
		{"S9/userinfo-401", http.MethodGet, "/userinfo"},
		{"S9/authorize-error-page", http.MethodGet, "/authorize?client_id=nope"},
		{"S9/login-page-error", http.MethodGet, "/login?id=nope"},
		{"S9/root", http.MethodGet, "/"},
		{"S9/not-found", http.MethodGet, "/nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := call(t, tc.method, fx.p.URL+tc.path, nil)
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("%d: X-Content-Type-Options %q, Referrer-Policy %q", resp.StatusCode,
					resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Referrer-Policy"))
			}
			w := httptest.NewRecorder()
			https.ServeHTTP(w, httptest.NewRequest(tc.method, "https://id.test"+tc.path, nil))
			if got := w.Header().Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
				t.Fatalf("https issuer: Strict-Transport-Security %q", got)
			}
		})
	}
}
