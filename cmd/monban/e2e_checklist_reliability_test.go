package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestChecklistDatabaseDown covers checklist R1 and R3: with PostgreSQL
// gone (the pool closed under a running provider) every endpoint that
// needs it fails closed — 503, no redirect carrying a code, no session
// cookie, no token — while discovery and the JWKS keep answering from
// memory.
func TestChecklistDatabaseDown(t *testing.T) {
	store := newPostgresStore(t)
	fx := newCkFixture(t, store)
	code, f := fx.code(t)
	tok, err := fx.a.exchange(fx.code(t))
	if err != nil {
		t.Fatal(err)
	}
	// A second browser halfway through a sign-in, with the form in hand.
	other := newBrowser(t, fx.p.URL)
	loginPage, loginBody := other.visit(fx.a.start(oauth2.SetAuthURLParam("prompt", "login")).URL)
	if loginPage.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d", loginPage.StatusCode)
	}

	store.Close() // the database is gone

	t.Run("R1/discovery-and-jwks-from-memory", func(t *testing.T) {
		for _, path := range []string{"/.well-known/openid-configuration", "/jwks"} {
			if resp, _ := call(t, http.MethodGet, fx.p.URL+path, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %d, want 200", path, resp.StatusCode)
			}
		}
	})
	t.Run("R1/authorize-503-no-redirect", func(t *testing.T) {
		resp, _ := fx.br.visit(fx.a.start().URL)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d Location %q, want the 503 page", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("R1/login-503-no-session-cookie", func(t *testing.T) {
		resp, _ := other.submit(loginPage, loginBody, map[string]string{"username": "alice", "password": alicePassword})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d Location %q, want 503", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "session") {
				t.Fatalf("a session cookie was set: %s", c.Name)
			}
		}
	})
	t.Run("R1/token-503-temporarily-unavailable", func(t *testing.T) {
		resp, body, _ := fx.ckToken(t, "app-a", fx.secret["app-a"], redeemForm(code, f))
		if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" ||
			resp.Header.Get("Cache-Control") != "no-store" || body["access_token"] != nil {
			t.Fatalf("got %d %v Cache-Control %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("R1/userinfo-503", func(t *testing.T) {
		status, _, body := ckUserinfo(t, fx.p.URL, tok.token.AccessToken)
		if status != http.StatusServiceUnavailable || body["sub"] != nil {
			t.Fatalf("got %d %v, want 503", status, body)
		}
	})
	t.Run("R1/refresh-503", func(t *testing.T) {
		resp, body, _ := fx.ckToken(t, "app-a", fx.secret["app-a"], url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.token.RefreshToken}})
		if resp.StatusCode != http.StatusServiceUnavailable || body["access_token"] != nil {
			raw, _ := json.Marshal(body)
			t.Fatalf("got %d %s, want 503", resp.StatusCode, raw)
		}
	})
}
