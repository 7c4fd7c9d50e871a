package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

// apiCall is one admin API call over HTTP with a bearer token.
func apiCall(t *testing.T, p *testProvider, method, path, token string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.URL+"/admin/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// TestAdminAPI is issue 20's "must show" for the API, on both stores: a
// service account gets a token by client_credentials, creates a client
// through the API, a relying party completes a code flow with that
// client, and the audit trail shows the service account; a read-only
// token cannot write (403); a stale If-Match is 412; without a token or
// with a person's token the API answers 401.
func TestAdminAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		ciSecret := p.addClient(t, storage.Client{ID: "ci", Name: "CI", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"admin:write"}})
		roSecret := p.addClient(t, storage.Client{ID: "dashboard", Name: "Dashboard", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"admin:read"}})
		token := func(t *testing.T, id, secret, scope string) *oauth2.Token {
			t.Helper()
			cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: p.URL + "/token",
				Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cfg.Token(t.Context())
			if err != nil {
				t.Fatalf("client_credentials for %s: %v", id, err)
			}
			return tok
		}
		ci := token(t, "ci", ciSecret, "admin:write")
		ro := token(t, "dashboard", roSecret, "admin:read")
		if _, claims := p.verifyJWT(t, ci.AccessToken); claims["exp"].(float64)-claims["iat"].(float64) > 300 {
			t.Errorf("admin token lives %vs, want at most 5 minutes", claims["exp"].(float64)-claims["iat"].(float64))
		}

		// The service account registers a client.
		const redirect = "https://shop.example/callback"
		res, body := apiCall(t, p, "POST", "/clients", ci.AccessToken, map[string]any{
			"client_id": "shop", "client_name": "Shop", "redirect_uris": []string{redirect}})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create client: %d %s", res.StatusCode, body)
		}
		var created struct {
			ClientSecret string `json:"client_secret"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.ClientSecret == "" {
			t.Fatalf("create client answer %s: no secret", body)
		}

		// A relying party signs alice in with it.
		r := newRP(t, p.URL, "shop", created.ClientSecret, redirect)
		br := newBrowser(t, p.URL)
		f := r.start()
		page, html := br.visit(f.URL)
		if !strings.Contains(html, `name="password"`) {
			t.Fatalf("want the login form, got %d", page.StatusCode)
		}
		resp, _ := br.submit(page, html, map[string]string{"username": "alice", "password": alicePassword})
		q := r.callbackParams(resp, f, p.URL)
		if _, err := r.exchange(q.Get("code"), f); err != nil {
			t.Fatalf("code flow with the API's client: %v", err)
		}

		// The audit trail names the service account.
		res, body = apiCall(t, p, "GET", "/audit?action=admin&target=client:shop", ro.AccessToken, nil)
		var audit struct {
			Items []struct {
				Actor   string `json:"actor"`
				ActorID string `json:"actor_id"`
				Action  string `json:"action"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &audit); err != nil || res.StatusCode != 200 {
			t.Fatalf("audit: %d %s", res.StatusCode, body)
		}
		if len(audit.Items) != 1 || audit.Items[0].Actor != "ci" || audit.Items[0].ActorID != "client:ci" || audit.Items[0].Action != "client.create" {
			t.Errorf("audit %+v, want one client.create by ci", audit.Items)
		}

		// A read-only token cannot write.
		res, body = apiCall(t, p, "PATCH", "/clients/shop", ro.AccessToken, map[string]any{"client_name": "Hacked"})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("read-only write: %d %q %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
		}

		// Two automations: the second, with the older version, gets 412.
		res, _ = apiCall(t, p, "GET", "/clients/shop", ro.AccessToken, nil)
		tag := res.Header.Get("ETag")
		if res, body = apiCall(t, p, "PATCH", "/clients/shop", ci.AccessToken, map[string]any{"client_name": "Shop 2"}, "If-Match", tag); res.StatusCode != 200 {
			t.Fatalf("first update: %d %s", res.StatusCode, body)
		}
		res, body = apiCall(t, p, "PATCH", "/clients/shop", ci.AccessToken, map[string]any{"client_name": "Shop 3"}, "If-Match", tag)
		if res.StatusCode != http.StatusPreconditionFailed || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("stale update: %d %s", res.StatusCode, body)
		}
		if c, _ := store.GetClient(t.Context(), "shop"); c.Name != "Shop 2" {
			t.Errorf("client name %q after a stale update, want Shop 2", c.Name)
		}

		// Only service-account tokens open the API.
		user := br // alice's browser session, cookies and all, is no credential
		if res, err := user.client.Get(p.URL + "/admin/api/v1/clients"); err != nil || res.StatusCode != http.StatusUnauthorized ||
			res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("browser session: %v %v", res.StatusCode, err)
		}
		res, _ = apiCall(t, p, "GET", "/clients", "not-a-token", nil)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("invalid token: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		// A service account disabled through the API: its token stops at once.
		if res, body = apiCall(t, p, "PATCH", "/clients/dashboard", ci.AccessToken, map[string]any{"disabled": true}); res.StatusCode != 200 {
			t.Fatalf("disable dashboard: %d %s", res.StatusCode, body)
		}
		if res, _ = apiCall(t, p, "GET", "/clients", ro.AccessToken, nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("disabled service account: %d, want 401", res.StatusCode)
		}
		// Admin scopes go to service accounts only: the web client cannot ask.
		cfg := clientcredentials.Config{ClientID: "shop", ClientSecret: created.ClientSecret, TokenURL: p.URL + "/token",
			Scopes: []string{"admin:read"}, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cfg.Token(t.Context()); err == nil {
			t.Error("a web client got an admin token")
		}
	})
}

// TestAdminAPIOff: admin_api=false serves no API.
func TestAdminAPIOff(t *testing.T) {
	p := newTestServer(t, withConfig(func(c *app.Config) { c.AdminAPI = false }))
	if res, _ := apiCall(t, p, "GET", "/openapi.json", "", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("openapi.json with the API off: %d, want 404", res.StatusCode)
	}
}
