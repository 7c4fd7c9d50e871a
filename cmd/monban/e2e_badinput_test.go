package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestChecklistH6UnstorableInput: NUL bytes and invalid UTF-8 in any
// parameter, path or credential are answered as bad input (400, an OAuth
// invalid_request for client endpoints, the error page for people), never
// as a store failure (issue #13 item 6). PostgreSQL refuses 0x00 in text,
// so before the edge check these were 503s and ERROR log lines an
// unauthenticated client could raise at will.
func TestChecklistH6UnstorableInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		secret := p.addClient(t, storage.Client{ID: "web1", Name: "Web 1",
			RedirectURIs: []string{"https://app1.test/cb"}})
		authz := func(extra string) string {
			return "/authorize?response_type=code&client_id=web1&redirect_uri=https%3A%2F%2Fapp1.test%2Fcb" +
				"&scope=openid&state=S1&nonce=N1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGVSVk5fMI" +
				"&code_challenge_method=S256&" + extra
		}
		pages := []struct{ name, path string }{
			{"state-nul", authz("state=a%00b")},
			{"state-invalid-utf8", authz("state=%FF%FE")},
			{"nonce-nul", authz("nonce=%00")},
			{"login-hint-nul", authz("login_hint=alice%00")},
			{"client-id-nul", "/authorize?response_type=code&client_id=web1%00&redirect_uri=https%3A%2F%2Fapp1.test%2Fcb&scope=openid"},
			{"client-id-invalid-utf8", "/authorize?response_type=code&client_id=%C3%28&scope=openid"},
			{"param-name-nul", authz("x%00y=1")},
			{"login-id-nul", "/login?id=%00"},
			{"login-id-nul-beside-a-bad-escape", "/login?id=%00&x=%zz"},
			{"consent-id-invalid-utf8", "/consent?id=%80abc"},
			{"callback-id-nul", "/authorize/callback?id=abc%00"},
			{"end-session-state-nul", "/end_session?state=%00"},
			{"end-session-hint-invalid-utf8", "/end_session?id_token_hint=%FF"},
			{"admin-filter-nul", "/admin/audit?actor=%00"},
			{"admin-path-nul", "/admin/clients/web1%00"},
		}
		for _, tc := range pages {
			t.Run("page/"+tc.name, func(t *testing.T) {
				resp, body := fetchNoRedirect(t, p.URL+tc.path)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("GET %s: status %d, want 400\n%.300s", tc.path, resp.StatusCode, body)
				}
				if resp.Header.Get("Location") != "" {
					t.Fatalf("GET %s redirected to %s", tc.path, resp.Header.Get("Location"))
				}
				if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "cannot be processed") {
					t.Fatalf("GET %s: not the readable error page: %s\n%.300s", tc.path, resp.Header.Get("Content-Type"), body)
				}
			})
		}

		form := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
		clients := []struct {
			name, path string
			user, pass string // Basic credentials, already form-encoded; "" for none
			body       url.Values
		}{
			{"token-client-id-form-nul", "/token", "", "", form("grant_type", "client_credentials", "client_id", "web1\x00", "client_secret", secret)},
			{"token-basic-client-id-nul", "/token", "web1%00", secret, form("grant_type", "authorization_code", "code", "x")},
			{"token-basic-raw-invalid-utf8", "/token", "web1\xff", secret, form("grant_type", "authorization_code", "code", "x")},
			{"token-code-invalid-utf8", "/token", "web1", secret, form("grant_type", "authorization_code", "code", "\xff\xfe", "redirect_uri", "https://app1.test/cb")},
			{"refresh-token-nul", "/token", "web1", secret, form("grant_type", "refresh_token", "refresh_token", "abc\x00")},
			{"revoke-token-nul", "/revoke", "web1", secret, form("token", "\x00")},
			{"introspect-token-invalid-utf8", "/introspect", "web1", secret, form("token", "\xc3\x28")},
			{"userinfo-access-token-nul", "/userinfo", "", "", form("access_token", "a\x00b")},
		}
		for _, tc := range clients {
			t.Run("oauth/"+tc.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, p.URL+tc.path, strings.NewReader(tc.body.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.user != "" {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("POST %s: status %d, want 400: %s", tc.path, resp.StatusCode, raw)
				}
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal(raw, &e); err != nil || e.Error != "invalid_request" {
					t.Fatalf("POST %s: want OAuth invalid_request JSON, got %s", tc.path, raw)
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("POST %s: Cache-Control %q", tc.path, resp.Header.Get("Cache-Control"))
				}
			})
		}

		// Nothing of the above reached the store: the client is intact and a
		// normal request still works.
		t.Run("ordinary-request-still-works", func(t *testing.T) {
			resp, body := fetchNoRedirect(t, p.URL+authz("state=ok"))
			if resp.StatusCode >= 400 {
				t.Fatalf("ordinary authorization request: %d\n%.300s", resp.StatusCode, body)
			}
		})
	})
}

// fetchNoRedirect fetches u without following redirects and returns the response and
// its body.
func fetchNoRedirect(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
