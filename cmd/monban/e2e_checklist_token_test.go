package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// ckFixture is an ssoFixture signed in as alice in one browser, plus a
// public client, ready to mint authorization codes for app-a.
type ckFixture struct {
	*ssoFixture
	br *browser
}

func newCkFixture(t *testing.T, store storage.Store) *ckFixture {
	fx := newSSOFixture(t, store)
	fx.p.addClient(t, storage.Client{ID: "spa", AuthMethod: storage.AuthMethodNone, RedirectURIs: []string{"https://spa.example/cb"}})
	br := newBrowser(t, fx.p.URL)
	fx.signIn(t, br, fx.a)
	return &ckFixture{ssoFixture: fx, br: br}
}

// code returns a fresh code for app-a and the flow it belongs to.
func (fx *ckFixture) code(t *testing.T, opts ...oauth2.AuthCodeOption) (string, *flow) {
	t.Helper()
	f := fx.a.start(opts...)
	return fx.codeFor(t, fx.br, fx.a, f), f
}

// redeemForm is the token request for code.
func redeemForm(code string, f *flow) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectA}, "code_verifier": {f.verifier}}
}

// ckToken posts form to /token, as clientID with its secret in the
// Authorization header when secret is not empty, and decodes the JSON.
func (fx *ckFixture) ckToken(t *testing.T, clientID, secret string, form url.Values, hdr ...string) (*http.Response, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp, m, string(raw)
}

// wantOAuthError checks status and error code of a token response.
func wantOAuthError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("got %d %v, want %d error=%s", resp.StatusCode, body, status, code)
	}
}

// TestChecklistTokenEndpoint covers checklist T1–T4, T6–T8, T10, T11, T13–T15,
// B2, B5, B6 and R4 at /token, on both stores.
func TestChecklistTokenEndpoint(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newCkFixture(t, store)
		secretA := fx.secret["app-a"]

		t.Run("T1/code-replay-after-30s", func(t *testing.T) {
			code, f := fx.code(t)
			if resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f)); resp.StatusCode != http.StatusOK {
				t.Fatalf("first redemption: %d %v", resp.StatusCode, body)
			}
			fx.p.Clock.Advance(30 * time.Second)
			resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("T1/replay-revokes-tokens-of-the-code", func(t *testing.T) {
			code, f := fx.code(t)
			_, first, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			fx.ckToken(t, "app-a", secretA, redeemForm(code, f)) // the replay
			at, _ := first["access_token"].(string)
			status, _, _ := ckUserinfo(t, fx.p.URL, at)
			resp, _, _ := fx.ckToken(t, "app-a", secretA, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}})
			if status == http.StatusOK || resp.StatusCode == http.StatusOK {
				t.Fatalf("after a replay of the code: userinfo with its access token %d, refresh %d; want both refused (RFC 6749 §4.1.2)", status, resp.StatusCode)
			}
		})
		t.Run("T1/replay-revokes-access-token-of-client-without-refresh", func(t *testing.T) {
			const redirectC = "https://app-c.example/callback"
			secretC := fx.p.addClient(t, storage.Client{ID: "app-c", RedirectURIs: []string{redirectC}, GrantTypes: []string{"authorization_code"}})
			c := newRP(t, fx.p.URL, "app-c", secretC, redirectC)
			f := c.start()
			code := fx.codeFor(t, fx.br, c, f)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectC}, "code_verifier": {f.verifier}}
			resp, first, _ := fx.ckToken(t, "app-c", secretC, form)
			if resp.StatusCode != http.StatusOK || first["refresh_token"] != nil {
				t.Fatalf("first redemption: %d %v, want an access token and no refresh token", resp.StatusCode, first)
			}
			at, _ := first["access_token"].(string)
			if status, _, _ := ckUserinfo(t, fx.p.URL, at); status != http.StatusOK {
				t.Fatalf("userinfo before the replay: %d", status)
			}
			resp, body, _ := fx.ckToken(t, "app-c", secretC, form)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			if status, _, _ := ckUserinfo(t, fx.p.URL, at); status != http.StatusUnauthorized {
				t.Fatalf("userinfo after the replay: %d, want 401 (RFC 6749 §4.1.2)", status)
			}
		})
		t.Run("T1/replay-by-another-client-revokes-nothing", func(t *testing.T) {
			code, f := fx.code(t)
			resp, first, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("first redemption: %d %v", resp.StatusCode, first)
			}
			form := redeemForm(code, f)
			form.Set("redirect_uri", redirectB)
			resp, body, _ := fx.ckToken(t, "app-b", fx.secret["app-b"], form)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			if status, _, _ := ckUserinfo(t, fx.p.URL, first["access_token"].(string)); status != http.StatusOK {
				t.Fatalf("userinfo after another client replayed the code: %d, want 200", status)
			}
		})
		t.Run("A6/no-openid-no-id-token", func(t *testing.T) {
			code, f := fx.code(t, oauth2.SetAuthURLParam("scope", "profile"))
			resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			if resp.StatusCode != http.StatusOK || body["id_token"] != nil || body["scope"] != "profile" {
				t.Fatalf("got %d %v, want tokens for profile without an id_token", resp.StatusCode, body)
			}
		})
		t.Run("A8/code-flow-without-nonce", func(t *testing.T) {
			f := &flow{state: randomString(), verifier: oauth2.GenerateVerifier()}
			f.URL = fx.a.oauth.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier))
			code := fx.codeFor(t, fx.br, fx.a, f)
			resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			if resp.StatusCode != http.StatusOK || ckClaims(t, body["id_token"])["nonce"] != nil {
				t.Fatalf("got %d, nonce %v; want an ID token without nonce", resp.StatusCode, ckClaims(t, body["id_token"])["nonce"])
			}
		})
		t.Run("T2/code-redeemed-by-public-client", func(t *testing.T) {
			code, f := fx.code(t)
			form := redeemForm(code, f)
			form.Set("client_id", "spa")
			form.Set("redirect_uri", "https://spa.example/cb")
			resp, body, _ := fx.ckToken(t, "", "", form)
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized || body["access_token"] != nil {
				t.Fatalf("got %d %v, want invalid_grant or invalid_client", resp.StatusCode, body)
			}
			resp, body, _ = fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant") // burned (project choice)
		})
		for _, tc := range []struct{ name, redirect string }{
			{"T3/redirect-uri-omitted", ""}, {"T3/redirect-uri-trailing-slash", redirectA + "/"},
			{"T3/redirect-uri-encoded-differently", strings.Replace(redirectA, "/callback", "/%63allback", 1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, f := fx.code(t)
				form := redeemForm(code, f)
				if tc.redirect == "" {
					form.Del("redirect_uri")
				} else {
					form.Set("redirect_uri", tc.redirect)
				}
				resp, body, _ := fx.ckToken(t, "app-a", secretA, form)
				if tc.redirect == "" && resp.StatusCode == http.StatusBadRequest && body["error"] == "invalid_request" {
					return // the library refuses the missing parameter before the grant is looked at
				}
				wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			})
		}
		t.Run("T4/code-expires-after-60s", func(t *testing.T) {
			code, f := fx.code(t)
			if len(code) < 43 {
				t.Errorf("code has %d characters, want ≥ 43 (256 bits)", len(code))
			}
			fx.p.Clock.Advance(61 * time.Second)
			resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("T4/code-valid-at-59s", func(t *testing.T) {
			code, f := fx.code(t)
			fx.p.Clock.Advance(59 * time.Second)
			if resp, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f)); resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}
		})
		t.Run("T6/client-authentication-failures-look-alike", func(t *testing.T) {
			var bodies []string
			for _, c := range []struct{ id, secret string }{{"app-a", "wrong"}, {"nope", "whatever"}, {"app-a", ""}} {
				req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token", strings.NewReader("grant_type=authorization_code&code=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(c.id, c.secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
					t.Fatalf("%s: %d WWW-Authenticate=%q, want 401 with Basic", c.id, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
				bodies = append(bodies, string(b))
			}
			if bodies[0] != bodies[1] || bodies[0] != bodies[2] || !strings.Contains(bodies[0], "invalid_client") {
				t.Fatalf("bodies differ or lack invalid_client: %q", bodies)
			}
		})
		t.Run("T6/failures-rate-limited-per-client", func(t *testing.T) {
			secret := fx.p.addClient(t, storage.Client{ID: "t6-client", Name: "T6", RedirectURIs: []string{"https://t6.example/cb"}})
			try := func(secret string) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token", strings.NewReader("grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Ft6.example%2Fcb"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("t6-client", secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			for i := 1; i <= 20; i++ {
				if resp := try("wrong"); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d, want 401", i, resp.StatusCode)
				}
			}
			resp := try("wrong")
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("failure 21: %d Retry-After=%q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			// The right secret still authenticates (the code is bogus, so
			// invalid_grant): nobody can lock a client out by spamming.
			if resp := try(secret); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("correct secret while throttled: %d, want 400 invalid_grant", resp.StatusCode)
			}
			fx.p.Clock.Advance(16 * time.Minute)
			if resp := try("wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after the lock: %d, want 401", resp.StatusCode)
			}
		})
		t.Run("T7/basic-client-secret-in-body", func(t *testing.T) {
			code, f := fx.code(t)
			form := redeemForm(code, f)
			form.Set("client_id", "app-a")
			form.Set("client_secret", secretA)
			resp, body, _ := fx.ckToken(t, "", "", form)
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("T7/basic-and-body-secret", func(t *testing.T) {
			code, f := fx.code(t)
			form := redeemForm(code, f)
			form.Set("client_secret", secretA)
			resp, body, _ := fx.ckToken(t, "app-a", secretA, form)
			if resp.StatusCode == http.StatusOK {
				ckOpen(t, "T7", "a client that sends its secret both in Basic and in the body is accepted (RFC 6749 §2.3: MUST NOT use more than one method); op/verify_client.go")
			}
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized || body["access_token"] != nil {
				t.Fatalf("got %d %v, want 400 or 401", resp.StatusCode, body)
			}
		})
		t.Run("T7/secret-in-query", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token?client_secret="+url.QueryEscape(secretA), strings.NewReader("grant_type=authorization_code&code=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("app-a", secretA)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %d, want 400 or 401", resp.StatusCode)
			}
		})
		t.Run("T7/public-client-sending-a-secret", func(t *testing.T) {
			resp, body, _ := fx.ckToken(t, "spa", "made-up", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}})
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("T7/confidential-client-without-authentication", func(t *testing.T) {
			code, f := fx.code(t)
			form := redeemForm(code, f)
			form.Set("client_id", "app-a")
			resp, body, _ := fx.ckToken(t, "", "", form)
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("T8/client-assertion-not-offered", func(t *testing.T) {
			resp, body, _ := fx.ckToken(t, "", "", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"app-a"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"eyJhbGciOiJub25lIn0.e30."}})
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})

		// A grant with a refresh token, for T10, T11, T13, B6.
		code, f := fx.code(t, oauth2.SetAuthURLParam("scope", "openid profile"))
		_, grant, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
		rt, _ := grant["refresh_token"].(string)
		firstID := ckClaims(t, grant["id_token"])
		refresh := func(t *testing.T, clientID, secret string, extra ...string) (*http.Response, map[string]any) {
			t.Helper()
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			resp, body, _ := fx.ckToken(t, clientID, secret, form)
			if next, ok := body["refresh_token"].(string); ok {
				rt = next
			}
			return resp, body
		}
		t.Run("T10/refresh-token-of-another-client", func(t *testing.T) {
			resp, body := refresh(t, "app-b", fx.secret["app-b"])
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
			if resp, body := refresh(t, "app-a", secretA); resp.StatusCode != http.StatusOK {
				t.Fatalf("the family was revoked by another client's attempt: %d %v", resp.StatusCode, body)
			}
		})
		t.Run("T10/refresh-without-client-authentication", func(t *testing.T) {
			resp, body := refresh(t, "", "", "client_id", "app-a")
			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("T11/broader-scope-refused", func(t *testing.T) {
			resp, body := refresh(t, "app-a", secretA, "scope", "openid profile email")
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_scope")
		})
		t.Run("T11/narrower-scope", func(t *testing.T) {
			resp, body := refresh(t, "app-a", secretA, "scope", "openid")
			if resp.StatusCode != http.StatusOK || body["scope"] != "openid" || ckClaims(t, body["access_token"])["scope"] != "openid" {
				t.Fatalf("got %d %v, want scope openid", resp.StatusCode, body)
			}
		})
		t.Run("B6/empty-scope-means-original", func(t *testing.T) {
			resp, body := refresh(t, "app-a", secretA, "scope", "")
			if body["error"] == "invalid_scope" {
				ckOpen(t, "B6", "an empty scope on refresh is refused as invalid_scope instead of meaning the original scope (RFC 6749 §3.1, §6); op/token.go")
			}
			if resp.StatusCode != http.StatusOK || body["scope"] != "openid profile" {
				t.Fatalf("got %d %v, want the original scope", resp.StatusCode, body)
			}
		})
		t.Run("T13/id-token-from-refresh", func(t *testing.T) {
			resp, body := refresh(t, "app-a", secretA)
			c := ckClaims(t, body["id_token"])
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh: %d %v", resp.StatusCode, body)
			}
			for _, k := range []string{"iss", "sub", "aud", "azp", "auth_time", "sid"} {
				if ckJSON(c[k]) != ckJSON(firstID[k]) {
					t.Errorf("%s = %v, first ID token had %v", k, c[k], firstID[k])
				}
			}
			if c["nonce"] != nil {
				t.Errorf("refreshed ID token carries a nonce: %v", c["nonce"])
			}
		})
		for _, tc := range []struct{ name, grant, wantErr string }{
			{"T14/password-grant", "password", "unsupported_grant_type"},
			{"T14/implicit", "implicit", "unsupported_grant_type"},
			{"T14/bogus", "urn:x:bogus", "unsupported_grant_type"},
			// app-a did not register client_credentials (RFC 6749 §5.2).
			{"T14/client-credentials-not-registered", "client_credentials", "unauthorized_client"},
			{"T14/missing", "", "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"username": {"alice"}, "password": {alicePassword}}
				if tc.grant != "" {
					form.Set("grant_type", tc.grant)
				}
				resp, body, _ := fx.ckToken(t, "app-a", secretA, form)
				wantOAuthError(t, resp, body, http.StatusBadRequest, tc.wantErr)
			})
		}
		t.Run("T15/get-refused-with-allow-post", func(t *testing.T) {
			resp, _ := call(t, http.MethodGet, fx.p.URL+"/token", nil)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
				t.Fatalf("GET /token: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
			}
		})
		t.Run("T15/json-body-refused", func(t *testing.T) {
			resp, body, _ := fx.ckToken(t, "app-a", secretA, url.Values{}, "Content-Type", "application/json")
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
		})
		t.Run("T15/json-no-store-bearer", func(t *testing.T) {
			code, f := fx.code(t)
			for _, form := range []url.Values{redeemForm(code, f), {"grant_type": {"bogus"}}} {
				resp, body, _ := fx.ckToken(t, "app-a", secretA, form)
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%d: Content-Type %q Cache-Control %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
				}
				if resp.StatusCode == http.StatusOK && body["token_type"] != "Bearer" {
					t.Fatalf("token_type = %v", body["token_type"])
				}
			}
		})
		t.Run("B2/body-over-64KiB", func(t *testing.T) {
			resp, _, _ := fx.ckToken(t, "app-a", secretA, url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 65<<10)}})
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("got %d, want 413", resp.StatusCode)
			}
		})
		for _, tc := range []struct {
			name  string
			form  func(url.Values) url.Values
			query string
		}{
			{"B5/code-twice", func(v url.Values) url.Values { v.Add("code", "other"); return v }, ""},
			{"B5/grant-type-twice", func(v url.Values) url.Values { v.Add("grant_type", "refresh_token"); return v }, ""},
			{"B5/refresh-token-twice", func(url.Values) url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt, rt}}
			}, ""},
			{"B5/grant-type-in-query-and-body", func(v url.Values) url.Values { return v }, "grant_type=authorization_code"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, f := fx.code(t)
				req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token?"+tc.query, strings.NewReader(tc.form(redeemForm(code, f)).Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("app-a", secretA)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
			})
		}
		t.Run("R4/50-concurrent-redemptions-one-wins", func(t *testing.T) {
			code, f := fx.code(t)
			const n = 50
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token", strings.NewReader(redeemForm(code, f).Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("app-a", secretA)
					if resp, err := http.DefaultClient.Do(req); err == nil {
						statuses[i] = resp.StatusCode
						resp.Body.Close()
					}
				})
			}
			close(start)
			wg.Wait()
			counts := map[int]int{}
			for _, s := range statuses {
				counts[s]++
			}
			if counts[http.StatusOK] != 1 || counts[http.StatusBadRequest] != n-1 {
				t.Fatalf("statuses %v, want exactly one 200 and %d × 400", counts, n-1)
			}
		})

		// T12 moves the clock far ahead, so it comes last.
		offline := func(t *testing.T) string {
			code, f := fx.code(t, oauth2.SetAuthURLParam("scope", "openid offline_access"))
			_, body, _ := fx.ckToken(t, "app-a", secretA, redeemForm(code, f))
			return body["refresh_token"].(string)
		}
		rotate := func(t *testing.T, token string) (string, *http.Response, map[string]any) {
			resp, body, _ := fx.ckToken(t, "app-a", secretA, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
			next, _ := body["refresh_token"].(string)
			return next, resp, body
		}
		longLived, forDisable, idle := offline(t), offline(t), offline(t)
		t.Run("T12/user-disabled", func(t *testing.T) {
			u, err := store.GetUserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			setDisabled := func(off bool) error {
				_, err := store.UpdateUser(t.Context(), u.ID, func(u *storage.User) error { u.Disabled = off; return nil })
				return err
			}
			if err := setDisabled(true); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = setDisabled(false) }()
			_, resp, body := rotate(t, forDisable)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("T12/session-bound-grant-ends-with-idle-session", func(t *testing.T) {
			fx.p.Clock.Advance(61 * time.Minute) // idle timeout 1 h (S5)
			_, resp, body := rotate(t, rt)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
		t.Run("T12/idle-7-days-and-absolute-30-days", func(t *testing.T) {
			next, resp, body := rotate(t, longLived) // offline_access outlives the session…
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("offline grant after the session ended: %d %v", resp.StatusCode, body)
			}
			// …and a token used every 6 days stays alive, while one left
			// alone for more than 7 days dies…
			for day := 6; day <= 24; day += 6 {
				fx.p.Clock.Advance(6 * 24 * time.Hour)
				if next, resp, body = rotate(t, next); resp.StatusCode != http.StatusOK {
					t.Fatalf("day %d: %d %v", day, resp.StatusCode, body)
				}
				if day == 12 {
					_, resp, body := rotate(t, idle)
					wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
				}
			}
			// …but not past its family's absolute lifetime.
			fx.p.Clock.Advance(6 * 24 * time.Hour)
			_, resp, body = rotate(t, next)
			wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	})
}

// ckClaims decodes a JWT's payload without verifying it (the tests that
// verify signatures use go-oidc; here only claims are compared).
func ckClaims(t *testing.T, tok any) map[string]any {
	t.Helper()
	s, _ := tok.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func ckJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ckOpen skips a checklist case whose behaviour is known to deviate and is
// recorded as open in SECURITY.md with its reason (owned by code outside
// this issue). The check above it runs every time: once the deviation is
// fixed the case passes and should be marked tested.
func ckOpen(t *testing.T, id, reason string) {
	t.Helper()
	t.Skipf("OPEN %s (see SECURITY.md): %s", id, reason)
}
