package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
)

// TestClientCredentials covers the client_credentials grant (RFC 6749
// §4.4) end to end on both stores with x/oauth2/clientcredentials: the
// token, its scope limits, who may use the grant, introspection, UserInfo
// refusing it, revocation by jti and disabling the client.
func TestClientCredentials(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		machine := storage.Client{ID: "machine", Name: "Machine", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"api:read", "api:write", "openid"}}
		secret := p.addClient(t, machine)
		webSecret := p.addClient(t, storage.Client{ID: "webapp", Name: "Web", RedirectURIs: []string{"https://rp.example/cb"}})
		p.addClient(t, storage.Client{ID: "public", Name: "Public", AuthMethod: storage.AuthMethodNone,
			RedirectURIs: []string{"https://rp.example/cb"}, GrantTypes: []string{"authorization_code", "client_credentials"}})

		fetch := func(t *testing.T, clientID, secret string, scopes ...string) (*oauth2.Token, error) {
			cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: p.URL + "/token",
				Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader}
			return cfg.Token(t.Context())
		}
		errCode := func(err error) string {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				return re.ErrorCode
			}
			return ""
		}

		t.Run("token", func(t *testing.T) {
			tok, err := fetch(t, "machine", secret, "api:read")
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Errorf("got a refresh or ID token: %+v", tok)
			}
			if got := tok.Extra("scope"); got != "api:read" {
				t.Errorf("scope = %v, want api:read", got)
			}
			typ, claims := p.verifyJWT(t, tok.AccessToken)
			if typ != "at+jwt" {
				t.Errorf("typ = %q, want at+jwt", typ)
			}
			for k, want := range map[string]any{"sub": "machine", "client_id": "machine", "scope": "api:read", "gty": "client_credentials"} {
				if claims[k] != want {
					t.Errorf("claim %s = %v, want %v", k, claims[k], want)
				}
			}
			for _, k := range []string{"sid", "fid", "auth_time"} {
				if _, ok := claims[k]; ok {
					t.Errorf("claim %s present: %v", k, claims[k])
				}
			}
		})

		t.Run("scope limits", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				scopes []string
				want   string // error code, "" for success
				scope  string
			}{
				{name: "none requested", scopes: nil, scope: ""},
				{name: "both registered", scopes: []string{"api:read", "api:write"}, scope: "api:read api:write"},
				{name: "unregistered", scopes: []string{"api:admin"}, want: "invalid_scope"},
				{name: "one of two unregistered", scopes: []string{"api:read", "api:admin"}, want: "invalid_scope"},
				{name: "openid needs a user", scopes: []string{"openid"}, want: "invalid_scope"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tok, err := fetch(t, "machine", secret, tc.scopes...)
					if tc.want != "" {
						if got := errCode(err); got != tc.want {
							t.Fatalf("error = %v (code %q), want %s", err, got, tc.want)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if got, _ := tok.Extra("scope").(string); got != tc.scope {
						t.Errorf("scope = %q, want %q", got, tc.scope)
					}
				})
			}
		})

		t.Run("who may use the grant", func(t *testing.T) {
			for _, tc := range []struct {
				name, clientID, secret, want string
			}{
				{name: "client without the grant", clientID: "webapp", secret: webSecret, want: "unauthorized_client"},
				{name: "public client", clientID: "public", want: "unauthorized_client"},
				{name: "wrong secret", clientID: "machine", secret: "wrong", want: "invalid_client"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					form := url.Values{"grant_type": {"client_credentials"}}
					if tc.secret == "" {
						form.Set("client_id", tc.clientID)
						resp, body := p.post(t, "/token", "", "", form)
						if resp.StatusCode != http.StatusBadRequest || oauthError(body) != tc.want {
							t.Fatalf("public client: %d %s, want %s", resp.StatusCode, body, tc.want)
						}
						return
					}
					_, err := fetch(t, tc.clientID, tc.secret)
					if got := errCode(err); got != tc.want {
						t.Fatalf("error = %v (code %q), want %s", err, got, tc.want)
					}
				})
			}
		})

		t.Run("introspection, userinfo, revocation", func(t *testing.T) {
			tok, err := fetch(t, "machine", secret, "api:write")
			if err != nil {
				t.Fatal(err)
			}
			got := introspectAs(t, p, "machine", secret, tok.AccessToken)
			if got["active"] != true || got["sub"] != "machine" || got["client_id"] != "machine" || got["scope"] != "api:write" {
				t.Errorf("introspection = %v, want active for machine with api:write", got)
			}
			if status, challenge := p.userinfoStatus(t, tok.AccessToken); status != http.StatusUnauthorized || !strings.Contains(challenge, "invalid_token") {
				t.Errorf("userinfo = %d %q, want 401 invalid_token", status, challenge)
			}
			resp, body := p.post(t, "/revoke", "machine", secret, url.Values{"token": {tok.AccessToken}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			if got := introspectAs(t, p, "machine", secret, tok.AccessToken); got["active"] != false {
				t.Errorf("introspection after revocation = %v, want inactive", got)
			}
		})

		t.Run("rotated secret works at once", func(t *testing.T) {
			if _, err := fetch(t, "machine", secret); err != nil { // machine is cached now
				t.Fatal(err)
			}
			rotated := storage.NewToken()
			if _, err := store.UpdateClient(t.Context(), "machine", func(c *storage.Client) error {
				c.SecretHash = storage.HashToken(rotated)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// No cache flush: a failure against the cached client is
			// checked again against the store.
			if _, err := fetch(t, "machine", rotated); err != nil {
				t.Fatalf("the new secret: %v", err)
			}
			if _, err := fetch(t, "machine", secret); errCode(err) != "invalid_client" {
				t.Errorf("the old secret after the reload: %v, want invalid_client", err)
			}
			secret = rotated
		})

		t.Run("disabled client", func(t *testing.T) {
			tok, err := fetch(t, "machine", secret)
			if err != nil {
				t.Fatal(err)
			}
			setDisabled := func(off bool) error {
				_, err := store.UpdateClient(t.Context(), "machine", func(c *storage.Client) error { c.Disabled = off; return nil })
				return err
			}
			if err := setDisabled(true); err != nil {
				t.Fatal(err)
			}
			flushClientCache(t, p)
			if _, err := fetch(t, "machine", secret); errCode(err) != "invalid_client" {
				t.Errorf("token for a disabled client: %v, want invalid_client", err)
			}
			// The disabled client cannot introspect; another confidential
			// client would not be told about machine's token either, so
			// re-enable after checking through the store.
			defer func() {
				if err := setDisabled(false); err != nil {
					t.Error(err)
				}
				flushClientCache(t, p)
			}()
			resp, body := p.post(t, "/introspect", "machine", secret, url.Values{"token": {tok.AccessToken}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("introspection by a disabled client: %d %s, want 401", resp.StatusCode, body)
			}
		})

		t.Run("discovery", func(t *testing.T) {
			resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var d struct {
				Grants []string `json:"grant_types_supported"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(d.Grants, "client_credentials") {
				t.Errorf("grant_types_supported = %v, want client_credentials", d.Grants)
			}
		})
	})
}

// introspectAs calls the introspection endpoint (RFC 7662) as clientID.
func introspectAs(t *testing.T, p *testProvider, clientID, secret, token string) map[string]any {
	t.Helper()
	resp, body := p.post(t, "/introspect", clientID, secret, url.Values{"token": {token}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %d %s", resp.StatusCode, body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("introspection body %q: %v", body, err)
	}
	return out
}

// flushClientCache lets the provider's client cache expire, so that a
// client changed directly in the store is seen (op.DefaultClientCacheTTL,
// SECURITY.md A4/D9).
func flushClientCache(t *testing.T, p *testProvider) {
	t.Helper()
	p.Clock.Advance(op.DefaultClientCacheTTL)
}

// TestClientAddClientCredentials registers a machine client with the CLI:
// with only the client_credentials grant it needs no redirect URI.
func TestClientAddClientCredentials(t *testing.T) {
	env, st := dbEnv(t)
	r := mustRun(t, env, "", "client", "add", "--id", "machine", "--name", "Machine",
		"--grant", "client_credentials", "--scope", "api:read api:write", "--output", "json")
	var obj map[string]any
	decodeJSON(t, r.stdout, &obj)
	if s, _ := obj["client_secret"].(string); s == "" {
		t.Errorf("no client_secret in %v", obj)
	}
	cl, err := st.GetClient(t.Context(), "machine")
	if err != nil {
		t.Fatal(err)
	}
	if cl.Public() || len(cl.RedirectURIs) != 0 || !slices.Equal(cl.GrantTypes, []string{"client_credentials"}) ||
		!slices.Equal(cl.Scopes, []string{"api:read", "api:write"}) {
		t.Errorf("stored client = %+v, want confidential, no redirect URI, client_credentials, api:read api:write", cl)
	}
}
