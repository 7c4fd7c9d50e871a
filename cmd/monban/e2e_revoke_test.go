package main

import (
	"github.com/monban-idp/monban/cmd/internal/app"

	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// TestRefreshRotation is issue #3's "must show" 1 (checklist T9, T13, R5):
// refresh with x/oauth2, replay of a rotated token, concurrent refreshes.
func TestRefreshRotation(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		first := fx.signIn(t, br, fx.a)
		r1 := first.token.RefreshToken
		if r1 == "" {
			t.Fatal("no refresh token")
		}

		var r2 string
		t.Run("T9/rotation-with-oauth2-TokenSource", func(t *testing.T) {
			fx.p.Clock.Advance(time.Minute)
			tok, err := fx.a.refresh(r1)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			r2 = tok.RefreshToken
			if r2 == "" || r2 == r1 || tok.AccessToken == first.token.AccessToken {
				t.Fatalf("refresh did not rotate: new refresh token %q, same access token %v", r2, tok.AccessToken == first.token.AccessToken)
			}
			fx.assertLive(t, "app-a", tok.AccessToken)
			// T13: a fresh ID token for the same subject and session.
			raw, _ := tok.Extra("id_token").(string)
			idt, err := fx.a.verifier.Verify(fx.a.ctx, raw)
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			var c map[string]any
			_ = idt.Claims(&c)
			if idt.Subject != first.idToken.Subject || c["sid"] != first.claims["sid"] ||
				c["auth_time"] != first.claims["auth_time"] || c["nonce"] != nil || !idt.IssuedAt.After(first.idToken.IssuedAt) {
				t.Errorf("refreshed ID token claims %v, first %v", c, first.claims)
			}
		})

		t.Run("T9/replay-revokes-family", func(t *testing.T) {
			tok, err := fx.a.refresh(r2)
			if err != nil {
				t.Fatalf("refresh with the current token: %v", err)
			}
			_, err = fx.a.refresh(r1) // replay of the rotated first token
			if got := grantError(err); got != "invalid_grant" {
				t.Fatalf("replay: %q, want invalid_grant", got)
			}
			_, err = fx.a.refresh(tok.RefreshToken)
			if got := grantError(err); got != "invalid_grant" {
				t.Fatalf("the family's newest refresh token after a replay: %q, want invalid_grant", got)
			}
			// Every access token of the family is dead at once, the very
			// first one included.
			fx.assertDead(t, "app-a", tok.AccessToken)
			fx.assertDead(t, "app-a", first.token.AccessToken)
		})

		t.Run("R5/20-concurrent-refreshes-one-wins", func(t *testing.T) {
			tk := fx.silent(t, br, fx.a)
			const n = 20
			var wins atomic.Int32
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					if _, err := fx.a.refresh(tk.token.RefreshToken); err == nil {
						wins.Add(1)
					} else {
						errs[i] = err
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d of %d concurrent refreshes succeeded, want exactly 1", wins.Load(), n)
			}
			for _, err := range errs {
				if err != nil && grantError(err) != "invalid_grant" {
					t.Errorf("loser got %v, want invalid_grant", err)
				}
			}
		})
	})
}

// TestRevocation is "must show" 2 and checklist T16 (RFC 7009).
func TestRevocation(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		faulty := &faultyStore{Store: store}
		fx := newLogoutFixture(t, faulty)
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)

		t.Run("T16/access-token-dead-at-once", func(t *testing.T) {
			tk := fx.silent(t, br, fx.a)
			fx.assertLive(t, "app-a", tk.token.AccessToken)
			resp, body := fx.revoke(t, "app-a", tk.token.AccessToken)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			fx.assertDead(t, "app-a", tk.token.AccessToken)
			// Only that token: the grant's refresh token still works.
			if _, err := fx.a.refresh(tk.token.RefreshToken); err != nil {
				t.Fatalf("refresh after revoking an access token: %v", err)
			}
		})
		t.Run("T16/refresh-token-revokes-family", func(t *testing.T) {
			tk := fx.silent(t, br, fx.a)
			if resp, body := fx.revoke(t, "app-a", tk.token.RefreshToken); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			if _, err := fx.a.refresh(tk.token.RefreshToken); grantError(err) != "invalid_grant" {
				t.Fatalf("refresh with a revoked token: %v", err)
			}
			fx.assertDead(t, "app-a", tk.token.AccessToken)
		})
		t.Run("T16/another-clients-token-refused", func(t *testing.T) {
			tk := fx.silent(t, br, fx.a)
			for _, token := range []string{tk.token.RefreshToken, tk.token.AccessToken} {
				resp, body := fx.revoke(t, "app-b", token)
				if resp.StatusCode != http.StatusBadRequest || oauthError(body) != "unauthorized_client" {
					t.Fatalf("revoke by another client: %d %s", resp.StatusCode, body)
				}
			}
			fx.assertLive(t, "app-a", tk.token.AccessToken)
			if _, err := fx.a.refresh(tk.token.RefreshToken); err != nil {
				t.Fatalf("refresh after another client's revocation attempt: %v", err)
			}
		})
		for _, tc := range []struct{ name, token string }{
			{"T16/unknown-refresh-token-200", storage.NewToken()},
			{"T16/garbage-jwt-200", "a.b.c"},
			{"B9/many-dots-200", strings.Repeat(".", 5000)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if resp, body := fx.revoke(t, "app-a", tc.token); resp.StatusCode != http.StatusOK {
					t.Fatalf("revoke: %d %s", resp.StatusCode, body)
				}
			})
		}
		t.Run("T16/client-must-authenticate", func(t *testing.T) {
			resp, body := fx.p.post(t, "/revoke", "app-a", "wrong secret", map[string][]string{"token": {"x"}})
			if resp.StatusCode != http.StatusUnauthorized || oauthError(body) != "invalid_client" ||
				resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("revoke with a wrong secret: %d %s", resp.StatusCode, body)
			}
		})
		t.Run("T15/revoke-hygiene", func(t *testing.T) {
			resp, err := http.Get(fx.p.URL + "/revoke?token=x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
				t.Fatalf("GET /revoke: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
			}
			resp2, body := fx.p.post(t, "/revoke", "app-a", fx.secret["app-a"], map[string][]string{"token": {"a", "b"}})
			if resp2.StatusCode != http.StatusBadRequest || oauthError(body) != "invalid_request" {
				t.Fatalf("duplicate token parameter: %d %s", resp2.StatusCode, body)
			}
		})
		t.Run("R3/storage-failure-is-503-never-200", func(t *testing.T) {
			tk := fx.silent(t, br, fx.a)
			faulty.fail("RevokeRefreshFamily", "RevokeAccessToken")
			for _, token := range []string{tk.token.AccessToken, tk.token.RefreshToken} {
				resp, body := fx.revoke(t, "app-a", token)
				if resp.StatusCode != http.StatusServiceUnavailable || oauthError(body) != "temporarily_unavailable" ||
					strings.Contains(body, "injected") {
					t.Fatalf("revoke during a storage failure: %d %s", resp.StatusCode, body)
				}
			}
			faulty.heal()
			fx.assertLive(t, "app-a", tk.token.AccessToken)
			if _, err := fx.a.refresh(tk.token.RefreshToken); err != nil {
				t.Fatalf("refresh after a failed revocation: %v", err)
			}
		})
	})
}

// TestIntrospection covers RFC 7662 beyond "active:false after
// revocation": what an active answer holds and who may ask.
func TestIntrospection(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		fx.p.addClient(t, storage.Client{ID: "spa", AuthMethod: storage.AuthMethodNone, RedirectURIs: []string{"https://spa.example/cb"}})
		br := newBrowser(t, fx.p.URL)
		tk := fx.signIn(t, br, fx.a)
		at := tk.token.AccessToken

		t.Run("active-token-claims", func(t *testing.T) {
			got := fx.introspect(t, "app-a", at)
			if got["active"] != true || got["client_id"] != "app-a" || got["sub"] != tk.idToken.Subject ||
				got["iss"] != fx.p.URL || got["token_type"] != "Bearer" || got["scope"] != "openid profile email" ||
				got["exp"] == nil || got["jti"] == nil {
				t.Fatalf("introspection = %v", got)
			}
		})
		t.Run("another-client-learns-nothing", func(t *testing.T) {
			if got := fx.introspect(t, "app-b", at); got["active"] != false || len(got) != 1 {
				t.Fatalf("introspection by another client = %v, want only active:false", got)
			}
		})
		t.Run("refresh-token-is-not-introspected", func(t *testing.T) {
			if got := fx.introspect(t, "app-a", tk.token.RefreshToken); got["active"] != false {
				t.Fatalf("introspection of a refresh token = %v", got)
			}
		})
		t.Run("T6/public-client-cannot-introspect", func(t *testing.T) {
			resp, body := fx.p.post(t, "/introspect", "", "", map[string][]string{"token": {at}, "client_id": {"spa"}})
			if resp.StatusCode < 400 || oauthError(body) != "invalid_client" {
				t.Fatalf("introspection by a public client: %d %s", resp.StatusCode, body)
			}
		})
		t.Run("T6/wrong-secret", func(t *testing.T) {
			resp, body := fx.p.post(t, "/introspect", "app-a", "wrong", map[string][]string{"token": {at}})
			if resp.StatusCode != http.StatusUnauthorized || oauthError(body) != "invalid_client" {
				t.Fatalf("introspection with a wrong secret: %d %s", resp.StatusCode, body)
			}
		})
		t.Run("expired-token-inactive", func(t *testing.T) {
			fx.p.Clock.Advance(5*time.Minute + time.Minute)
			fx.assertDead(t, "app-a", at)
		})
	})
}

// TestAccessTokenJWT is "must show" 5 (checklist J5, RFC 9068).
func TestAccessTokenJWT(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		tk := fx.signIn(t, br, fx.a)

		typ, c := fx.p.verifyJWT(t, tk.token.AccessToken)
		if typ != "at+jwt" {
			t.Errorf("typ = %q, want at+jwt (RFC 9068 §2.1)", typ)
		}
		for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "sid", "fid"} {
			if c[k] == nil {
				t.Errorf("claim %s missing: %v", k, c)
			}
		}
		if c["iss"] != fx.p.URL || c["client_id"] != "app-a" || c["sid"] != tk.claims["sid"] || c["sub"] != tk.idToken.Subject {
			t.Errorf("claims %v do not match the ID token %v", c, tk.claims)
		}
		if life := c["exp"].(float64) - c["iat"].(float64); life != 300 {
			t.Errorf("lifetime %vs, want the default 300s", life)
		}
		// Offline grants survive the browser session: no sid to tie them.
		off := fx.silent(t, br, fx.a, oauth2.SetAuthURLParam("scope", "openid offline_access"))
		if oc := jwtClaims(t, off.token.AccessToken); oc["sid"] != nil || oc["fid"] == nil {
			t.Errorf("offline_access access token claims %v: want fid and no sid", oc)
		}
	})
}

// TestChecklistL8Discovery: discovery advertises exactly the revocation,
// introspection and logout support that the tests above exercise
// (checklist L8, J8; RFC 8414 §2, Back-Channel Logout 1.0 §2.1).
func TestChecklistL8Discovery(t *testing.T) {
	p := newTestServer(t)
	resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		want      any
	}{
		{"L8/end-session", "end_session_endpoint", p.URL + "/end_session"},
		{"L8/backchannel", "backchannel_logout_supported", true},
		{"L8/backchannel-session", "backchannel_logout_session_supported", true},
		{"T16/revocation", "revocation_endpoint", p.URL + "/revoke"},
		{"T16/revocation-auth", "revocation_endpoint_auth_methods_supported", []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}},
		{"J8/introspection", "introspection_endpoint", p.URL + "/introspect"},
		{"J8/introspection-auth", "introspection_endpoint_auth_methods_supported", []any{"client_secret_basic", "client_secret_post", "private_key_jwt"}},
		{"L7/no-front-channel", "frontchannel_logout_supported", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := d[tc.key]; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}

// TestRefreshReuseGrace: with the optional grace window, a client whose
// two requests raced may present the rotated token once more; a later
// replay still revokes the whole family (checklist T9, R5).
func TestRefreshReuseGrace(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.RefreshReuseGrace, c.RefreshReuseMax = 10*time.Second, 1
		}))
		registerLogoutClients(t, p, rcv)
		fx := openLogoutFixture(t, p, rcv)
		tk := fx.signIn(t, newBrowser(t, p.URL), fx.a)
		r1 := tk.token.RefreshToken

		second, err := fx.a.refresh(r1)
		if err != nil {
			t.Fatal(err)
		}
		raced, err := fx.a.refresh(r1) // the racing request, inside the window
		if err != nil {
			t.Fatalf("replay inside the grace window: %v", err)
		}
		fx.assertLive(t, "app-a", raced.AccessToken)
		if _, err := fx.a.refresh(r1); grantError(err) != "invalid_grant" {
			t.Fatalf("second replay: %v, want invalid_grant", err)
		}
		for _, tok := range []string{second.RefreshToken, raced.RefreshToken} {
			if _, err := fx.a.refresh(tok); grantError(err) != "invalid_grant" {
				t.Fatalf("family member after the replay: %v, want invalid_grant", err)
			}
		}
		fx.assertDead(t, "app-a", raced.AccessToken)
	})
}
