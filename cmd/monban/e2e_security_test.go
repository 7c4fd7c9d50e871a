package main

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// grantError returns the OAuth error code of a failed exchange.
func grantError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	if err == nil {
		return ""
	}
	return "not an OAuth error: " + err.Error()
}

// codeFor runs a silent authorization request (the browser has a session)
// and returns the code without redeeming it.
func (fx *ssoFixture) codeFor(t *testing.T, br *browser, r *rp, f *flow) string {
	t.Helper()
	resp, _ := br.visit(f.URL)
	q := r.callbackParams(resp, f, fx.p.URL)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code")
}

// TestCodeAndPKCE is issue #2's "must show" 3 for the token endpoint
// (checklist T1, T2, T3, T5), for both kinds of code: the sealed one a
// live session answers /authorize with, and the stored one the sign-in
// page issues (here forced by prompt=login).
func TestCodeAndPKCE(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)
		for _, kind := range []struct {
			name string
			code func(t *testing.T, f *flow) string
		}{
			{"sealed", func(t *testing.T, f *flow) string { return fx.sealedCodeFor(t, br, fx.a, f) }},
			{"stored", func(t *testing.T, f *flow) string {
				f.URL += "&prompt=login"
				return fx.storedCodeFor(t, br, fx.a, f)
			}},
		} {
			t.Run(kind.name+"/T1/code-replay", func(t *testing.T) {
				f := fx.a.start()
				code := kind.code(t, f)
				if _, err := fx.a.exchange(code, f); err != nil {
					t.Fatalf("first redemption: %v", err)
				}
				_, err := fx.a.exchange(code, f)
				if got := grantError(err); got != "invalid_grant" {
					t.Fatalf("replay: got %q, want invalid_grant", got)
				}
			})
			for _, tc := range []struct {
				name string
				opts func(f *flow) []oauth2.AuthCodeOption
			}{
				{"T5/wrong-verifier", func(*flow) []oauth2.AuthCodeOption {
					return []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier())}
				}},
				{"T5/missing-verifier", func(*flow) []oauth2.AuthCodeOption { return nil }},
				{"T5/short-verifier", func(f *flow) []oauth2.AuthCodeOption {
					return []oauth2.AuthCodeOption{oauth2.VerifierOption(f.verifier[:42])}
				}},
				{"T3/another-redirect-uri", func(f *flow) []oauth2.AuthCodeOption {
					return []oauth2.AuthCodeOption{oauth2.VerifierOption(f.verifier), oauth2.SetAuthURLParam("redirect_uri", redirectA+"/")}
				}},
			} {
				t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
					f := fx.a.start()
					code := kind.code(t, f)
					_, err := fx.a.oauth.Exchange(fx.a.ctx, code, tc.opts(f)...)
					if got := grantError(err); got != "invalid_grant" {
						t.Fatalf("got %q, want invalid_grant", got)
					}
					// The code is burned: even the right request fails now.
					if _, err := fx.a.exchange(code, f); grantError(err) != "invalid_grant" {
						t.Fatalf("code still usable after a failed redemption: %v", err)
					}
				})
			}
			t.Run(kind.name+"/T5/downgrade", func(t *testing.T) {
				// A confidential client may skip PKCE, but then a verifier at
				// the token endpoint is an attack (RFC 9700 §4.8).
				f := &flow{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
				f.URL = fx.a.oauth.AuthCodeURL(f.state)
				code := kind.code(t, f)
				_, err := fx.a.oauth.Exchange(fx.a.ctx, code, oauth2.VerifierOption(f.verifier))
				if got := grantError(err); got != "invalid_grant" {
					t.Fatalf("got %q, want invalid_grant", got)
				}
			})
			t.Run(kind.name+"/T2/code-bound-to-client", func(t *testing.T) {
				f := fx.a.start()
				code := kind.code(t, f)
				_, err := fx.b.oauth.Exchange(fx.b.ctx, code, oauth2.VerifierOption(f.verifier))
				if got := grantError(err); got != "invalid_grant" {
					t.Fatalf("got %q, want invalid_grant", got)
				}
				if _, err := fx.a.exchange(code, f); grantError(err) != "invalid_grant" {
					t.Fatalf("the code after another client tried it: %v, want invalid_grant (burned)", err)
				}
			})
		}
	})
}

// TestAuthorizeRefusals is "must show" 3 for the authorization endpoint
// (checklist A1, A9, A10): what is refused at the client, and what is
// refused on the provider's own page without any redirect.
func TestAuthorizeRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		fx.p.addClient(t, storage.Client{ID: "spa", Name: "SPA", AuthMethod: storage.AuthMethodNone,
			RedirectURIs: []string{"https://spa.example/cb"}})
		challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
		base := func(client, redirect string) url.Values {
			return url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
				"scope": {"openid"}, "state": {"S1"}, "nonce": {"N1"}}
		}
		with := func(v url.Values, kv ...string) url.Values {
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		for _, tc := range []struct {
			name   string
			params url.Values
			want   string
		}{
			{"A9/public-client-without-pkce", base("spa", "https://spa.example/cb"), "invalid_request"},
			{"A10/plain", with(base("app-a", redirectA), "code_challenge", challenge, "code_challenge_method", "plain"), "invalid_request"},
			{"A10/method-absent-means-plain", with(base("app-a", redirectA), "code_challenge", challenge), "invalid_request"},
			{"A10/lowercase-s256", with(base("app-a", redirectA), "code_challenge", challenge, "code_challenge_method", "s256"), "invalid_request"},
			{"A11/short-challenge", with(base("app-a", redirectA), "code_challenge", challenge[:42], "code_challenge_method", "S256"), "invalid_request"},
			{"A5/token-response-type", with(base("app-a", redirectA), "response_type", "token"), "unsupported_response_type"},
			{"A14/request-object", with(base("app-a", redirectA), "request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				br := newBrowser(t, fx.p.URL)
				resp, _ := br.visit(fx.p.URL + "/authorize?" + tc.params.Encode())
				loc, err := url.Parse(resp.Header.Get("Location"))
				if err != nil || resp.StatusCode != http.StatusFound {
					t.Fatalf("want a redirect to the client, got %d", resp.StatusCode)
				}
				q := loc.Query()
				if q.Get("error") != tc.want || q.Get("state") != "S1" || q.Get("iss") != fx.p.URL || q.Get("code") != "" {
					t.Fatalf("got %v, want error=%s with state and iss", q, tc.want)
				}
			})
		}
		for _, tc := range []struct {
			name   string
			params url.Values
		}{
			{"A1/unregistered", base("app-a", "https://evil.example/callback")},
			{"A1/trailing-slash", base("app-a", redirectA+"/")},
			{"A1/case", base("app-a", strings.ToUpper(redirectA))},
			{"A1/query-added", base("app-a", redirectA+"?x=1")},
			{"A1/other-clients-uri", base("app-a", redirectB)},
			{"A3/missing", base("app-a", "")},
			{"A4/unknown-client", base("nope", redirectA)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				br := newBrowser(t, fx.p.URL)
				resp, body := br.visit(fx.p.URL + "/authorize?" + tc.params.Encode())
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("want the provider's 400 error page and no redirect, got %d Location=%q",
						resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(body, "evil.example") {
					t.Fatalf("want an HTML page that does not reflect the URI:\n%s", body)
				}
			})
		}
	})
}
