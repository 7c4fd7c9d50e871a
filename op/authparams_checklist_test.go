package op

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// errorDescriptionChars is RFC 6749 §4.1.2.1's charset for
// error_description: %x20-21 / %x23-5B / %x5D-7E (no ", no \, ASCII only).
var errorDescriptionChars = regexp.MustCompile(`^[\x20\x21\x23-\x5B\x5D-\x7E]*$`)

// authzParams is the checklist's AUTHZ(): a valid request for web1, with
// kv overriding (an empty value deletes the key).
func authzParams(kv ...string) url.Values {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	v := url.Values{
		"response_type": {"code"}, "client_id": {"web1"}, "redirect_uri": {"https://app1.test/cb"},
		"scope": {"openid"}, "state": {"S1"}, "nonce": {"N1"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// with adds a second value for key (parameter pollution, checklist B5).
func with(v url.Values, key, value string) url.Values {
	v.Add(key, value)
	return v
}

var checklistWeb1 = &storage.Client{
	ID: "web1", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
	RedirectURIs: []string{"https://app1.test/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
	Scopes: []string{"openid", "profile", "email"},
}

// TestChecklistAuthorizeParams covers the authorization request checks that
// answer the client (RP-ERR): checklist A5–A8, A10–A15, B3–B6, B8, B10.
// Each case states the error code, or "" for an accepted request, and
// whether state is echoed.
func TestChecklistAuthorizeParams(t *testing.T) {
	spa := &storage.Client{ID: "spa1", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb,
		RedirectURIs: []string{"https://spa.test/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}}
	noCodeGrant := &storage.Client{ID: "m2m", AuthMethod: storage.AuthMethodBasic, GrantTypes: []string{"refresh_token"}, Scopes: []string{"openid"}}
	challenge := authzParams().Get("code_challenge")
	big := strings.Repeat("x", maxParamLength+1)
	for _, tc := range []struct {
		name      string
		client    *storage.Client
		params    url.Values
		wantErr   string
		wantState bool // state echoed on the error
	}{
		{"A5/response-type-empty", nil, authzParams("response_type", ""), "invalid_request", true},
		{"A5/response-type-token", nil, authzParams("response_type", "token"), "unsupported_response_type", true},
		{"A5/response-type-code-token", nil, authzParams("response_type", "code token"), "unsupported_response_type", true},
		{"A5/response-type-id-token", nil, authzParams("response_type", "id_token"), "unsupported_response_type", true},
		{"A5/client-without-code-grant", noCodeGrant, authzParams(), "unauthorized_client", true},
		{"A6/unknown-scope-ignored", nil, authzParams("scope", "openid bogus"), "", false},
		{"A6/known-scope-not-allowed", nil, authzParams("scope", "openid offline_access"), "invalid_scope", true},
		{"A7/state-special-characters", nil, authzParams("state", "a+b c&d=\U0001F511"), "", false},
		{"A7/state-1024-bytes", nil, authzParams("state", strings.Repeat("s", 1024)), "", false},
		{"A7/state-over-2048-bytes-not-echoed", nil, authzParams("state", big), "invalid_request", false},
		{"A8/code-flow-without-nonce", nil, authzParams("nonce", ""), "", false},
		{"A8/hybrid-without-nonce", nil, authzParams("response_type", "code id_token", "nonce", ""), "unsupported_response_type", true},
		{"A9/public-client-without-challenge", spa, authzParams("client_id", "spa1", "code_challenge", "", "code_challenge_method", ""), "invalid_request", true},
		{"A9/confidential-with-s256", nil, authzParams(), "", false},
		{"A10/plain", nil, authzParams("code_challenge_method", "plain"), "invalid_request", true},
		{"A10/method-absent-means-plain", nil, authzParams("code_challenge_method", ""), "invalid_request", true},
		{"A10/lowercase-s256", nil, authzParams("code_challenge_method", "s256"), "invalid_request", true},
		{"A10/SHA256", nil, authzParams("code_challenge_method", "SHA256"), "invalid_request", true},
		{"A10/method-without-challenge", nil, authzParams("code_challenge", ""), "invalid_request", true},
		{"A11/challenge-42-chars", nil, authzParams("code_challenge", challenge[:42]), "invalid_request", true},
		{"A11/challenge-44-chars", nil, authzParams("code_challenge", challenge+"A"), "invalid_request", true},
		{"A11/challenge-with-padding", nil, authzParams("code_challenge", challenge[:42]+"="), "invalid_request", true},
		{"A11/challenge-standard-base64", nil, authzParams("code_challenge", "+/"+challenge[2:]), "invalid_request", true},
		{"A11/challenge-10KB", nil, authzParams("code_challenge", strings.Repeat("A", 10<<10)), "invalid_request", true},
		{"A12/prompt-none-with-login", nil, authzParams("prompt", "none login"), "invalid_request", true},
		{"A12/prompt-unknown-value", nil, authzParams("prompt", "bogus"), "invalid_request", true},
		{"A13/max-age-negative", nil, authzParams("max_age", "-1"), "invalid_request", true},
		{"A13/max-age-not-a-number", nil, authzParams("max_age", "abc"), "invalid_request", true},
		{"A13/max-age-zero", nil, authzParams("max_age", "0"), "", false},
		{"A14/request-object", nil, authzParams("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported", true},
		{"A14/request-uri-never-fetched", nil, authzParams("request_uri", "http://169.254.169.254/x"), "request_uri_not_supported", true},
		{"A14/request-and-request-uri", nil, authzParams("request", "x", "request_uri", "https://a.test/r"), "invalid_request", true},
		{"A15/form-post-not-offered", nil, authzParams("response_mode", "form_post"), "invalid_request", true},
		{"A15/form-post-jwt", nil, authzParams("response_mode", "form_post.jwt"), "invalid_request", true},
		{"A15/jwt", nil, authzParams("response_mode", "jwt"), "invalid_request", true},
		{"A15/bogus", nil, authzParams("response_mode", "bogus"), "invalid_request", true},
		{"A15/query", nil, authzParams("response_mode", "query"), "", false},
		{"A17/unknown-parameter-ignored", nil, authzParams("extra", "foobar"), "", false},
		{"B3/scope-over-2048-bytes", nil, authzParams("scope", "openid "+strings.Repeat("bogus ", 400)), "invalid_request", true},
		{"B3/nonce-over-2048-bytes", nil, authzParams("nonce", big), "invalid_request", true},
		{"B3/login-hint-over-2048-bytes", nil, authzParams("login_hint", big), "invalid_request", true},
		{"B3/acr-values-over-2048-bytes", nil, authzParams("acr_values", big), "invalid_request", true},
		{"B4/state-invalid-utf8-not-echoed", nil, authzParams("state", "\xff\xfe"), "invalid_request", false},
		{"B4/login-hint-overlong-utf8", nil, authzParams("login_hint", "\xc0\xaf"), "invalid_request", true},
		{"B5/scope-twice", nil, with(authzParams(), "scope", "openid"), "invalid_request", true},
		{"B5/response-type-twice", nil, with(authzParams(), "response_type", "code"), "invalid_request", true},
		{"B5/state-twice-not-echoed", nil, with(authzParams(), "state", "S2"), "invalid_request", false},
		{"B5/code-challenge-twice", nil, with(authzParams(), "code_challenge", challenge), "invalid_request", true},
		{"B6/empty-prompt-and-max-age-ignored", nil, authzParams("foo", "bar", "prompt", "", "max_age", ""), "", false},
		{"B6/empty-values-treated-as-omitted", nil, with(with(authzParams(), "prompt", ""), "max_age", ""), "", false},
		{"B8/injection-in-state-echoed-exactly", nil, authzParams("state", `' OR '1'='1 {{7*7}} <script>`), "", false},
		{"B10/error-with-quotes-and-crlf-in-scope", nil, authzParams("scope", "openid \"\\\r\n\u00e9", "max_age", "x"), "invalid_request", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client
			if c == nil {
				c = checklistWeb1
			}
			got, oerr := parseAuthParams(tc.params, c)
			if tc.wantErr == "" {
				if oerr != nil {
					t.Fatalf("refused with %s (%s), want accepted", oerr.ErrorType, oerr.Description)
				}
				if got.state != tc.params.Get("state") {
					t.Fatalf("state = %q, want %q byte-exact", got.state, tc.params.Get("state"))
				}
				return
			}
			if oerr == nil || string(oerr.ErrorType) != tc.wantErr {
				t.Fatalf("got %v, want %s", oerr, tc.wantErr)
			}
			if echoed := got.stateOK && got.state != ""; echoed != tc.wantState {
				t.Errorf("state echoed = %v, want %v", echoed, tc.wantState)
			}
			// B10: descriptions are fixed text within the RFC's charset and
			// never reflect the input.
			if !errorDescriptionChars.MatchString(oerr.Description) || strings.Contains(oerr.Description, "bogus") {
				t.Errorf("error_description %q breaks RFC 6749 §4.1.2.1 or reflects input", oerr.Description)
			}
		})
	}
	t.Run("A6/granted-scopes-exclude-unknown", func(t *testing.T) {
		got, oerr := parseAuthParams(authzParams("scope", "openid bogus profile openid"), checklistWeb1)
		if oerr != nil || strings.Join(got.scopes, " ") != "openid profile" {
			t.Fatalf("scopes = %v, %v; want [openid profile]", got.scopes, oerr)
		}
	})
}

// TestChecklistAuthorizeRequestSize covers checklist B1 and B2 for the
// authorization endpoint: a query over 8 KiB or a body over 64 KiB is
// refused before any parsing (OP-ERR: the client is not known yet).
func TestChecklistAuthorizeRequestSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  *http.Request
		ok   bool
	}{
		{"B1/query-8KiB-accepted", httptest.NewRequest(http.MethodGet, "/authorize?state="+strings.Repeat("a", maxQueryBytes-6), nil), true},
		{"B1/query-9KiB-refused", httptest.NewRequest(http.MethodGet, "/authorize?state="+strings.Repeat("a", 9<<10), nil), false},
		{"B2/body-65KiB-refused", formRequest("/authorize", "state="+strings.Repeat("a", 65<<10)), false},
		{"B3/redirect-uri-64KiB-refused", formRequest("/authorize", "redirect_uri="+strings.Repeat("a", 64<<10)), false},
		{"B2/body-small-accepted", formRequest("/authorize", "state=a"), true},
		{"A17/method-put-refused", httptest.NewRequest(http.MethodPut, "/authorize", nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAuthorizeParams(httptest.NewRecorder(), tc.req)
			if (err == nil) != tc.ok {
				t.Fatalf("readAuthorizeParams: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func formRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
