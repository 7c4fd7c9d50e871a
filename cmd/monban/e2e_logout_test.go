package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

// endSession sends the browser to the RP-Initiated Logout endpoint.
func (fx *logoutFixture) endSession(br *browser, params url.Values) (*http.Response, string) {
	br.t.Helper()
	return br.visit(fx.p.URL + "/end_session?" + params.Encode())
}

// promptNone reports the error of a prompt=none request by r: "" when it
// got a code, "login_required" once the session is gone.
func (fx *logoutFixture) promptNone(t *testing.T, br *browser, r *rp) string {
	t.Helper()
	f := r.start(oauth2.SetAuthURLParam("prompt", "none"))
	resp, _ := br.visit(f.URL)
	q := r.callbackParams(resp, f, fx.p.URL)
	if q.Get("error") == "" && q.Get("code") == "" {
		t.Fatalf("prompt=none answered neither a code nor an error: %v", q)
	}
	return q.Get("error")
}

// assertRedirect checks a redirect to exactly want.
func assertRedirect(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d at %s, want a redirect to %s", resp.StatusCode, resp.Request.URL, want)
	}
	if got := resp.Header.Get("Location"); got != want {
		t.Fatalf("redirected to %q, want %q", got, want)
	}
}

// assertNoRedirect checks that the provider answered with its own page.
func assertNoRedirect(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(body, "evil.example") {
		t.Fatalf("want the provider's own page and no redirect, got %d Location=%q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestRPInitiatedLogout is issue #3's "must show" 3 (checklist L1–L3).
func TestRPInitiatedLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		ta := fx.signIn(t, br, fx.a)
		fx.silent(t, br, fx.b)
		hint := ta.rawIDToken()

		for _, tc := range []struct {
			name   string
			params url.Values
		}{
			{"L2/unregistered-uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/bye"}}},
			{"L2/query-added", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutA + "?foo=bar"}}},
			{"L2/redirect-uri-is-not-post-logout-uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {redirectA}}},
			{"L2/other-clients-uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutB}}},
			{"L1/garbage-hint", url.Values{"id_token_hint": {"a.b.c"}, "post_logout_redirect_uri": {postLogoutA}}},
			{"L1/access-token-as-hint", url.Values{"id_token_hint": {ta.token.AccessToken}, "post_logout_redirect_uri": {postLogoutA}}},
			{"L1/client-id-mismatch", url.Values{"id_token_hint": {hint}, "client_id": {"app-b"}, "post_logout_redirect_uri": {postLogoutB}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := fx.endSession(br, tc.params)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", resp.StatusCode)
				}
				assertNoRedirect(t, resp, body)
				if got := fx.promptNone(t, br, fx.a); got != "" {
					t.Fatalf("the session ended on a refused request: %s", got)
				}
			})
		}

		t.Run("L2/valid-hint-redirects-with-state", func(t *testing.T) {
			resp, _ := fx.endSession(br, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutA},
				"state": {"a+b c&d"}})
			assertRedirect(t, resp, postLogoutA+"?state=a%2Bb+c%26d")
			if c := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "monban_session=;") || !strings.Contains(c, "Max-Age=0") {
				t.Errorf("session cookie not cleared: %q", c)
			}
		})
		t.Run("L3/prompt-none-for-the-second-client-login-required", func(t *testing.T) {
			if got := fx.promptNone(t, br, fx.b); got != "login_required" {
				t.Fatalf("prompt=none after logout: %q, want login_required", got)
			}
		})
		t.Run("L1/expired-hint-accepted", func(t *testing.T) {
			fx.signIn(t, br, fx.a)
			fx.p.Clock.Advance(20 * time.Minute) // the hint's ID token expired (10 min lifetime)
			resp, _ := fx.endSession(br, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {postLogoutA}})
			assertRedirect(t, resp, postLogoutA)
			if got := fx.promptNone(t, br, fx.a); got != "login_required" {
				t.Fatalf("prompt=none after logout with an expired hint: %q", got)
			}
		})
	})
}

// TestLogoutConfirmation covers a logout request without id_token_hint
// (checklist L2, L4, S7): nothing ends until the person confirms on a
// CSRF-protected page.
func TestLogoutConfirmation(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)
		params := url.Values{"client_id": {"app-a"}, "post_logout_redirect_uri": {postLogoutA}, "state": {"S9"}}

		page, body := fx.endSession(br, params)
		t.Run("L4/confirmation-page-first", func(t *testing.T) {
			if page.StatusCode != http.StatusOK || !strings.Contains(body, "App A") || !strings.Contains(body, `action="/logout"`) {
				t.Fatalf("want the confirmation page naming App A, got %d:\n%s", page.StatusCode, body)
			}
			csp := page.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "form-action 'self' https://app-a.example") || page.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("confirmation page headers: CSP %q", csp)
			}
			if got := fx.promptNone(t, br, fx.a); got != "" {
				t.Fatalf("the session ended before confirmation: %s", got)
			}
		})
		for _, tc := range []struct {
			name   string
			change func(h http.Header, form url.Values)
		}{
			{"S7/missing-csrf-token", func(_ http.Header, f url.Values) { f.Del("csrf_token") }},
			{"S7/wrong-csrf-token", func(_ http.Header, f url.Values) { f.Set("csrf_token", "x") }},
			{"S7/cross-site", func(h http.Header, _ url.Values) { h.Set("Sec-Fetch-Site", "cross-site") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, form := parseForm(t, body)
				h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
				tc.change(h, form)
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fx.p.URL+"/logout", strings.NewReader(form.Encode()))
				req.Header = h
				resp, err := br.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.StatusCode)
				}
				if got := fx.promptNone(t, br, fx.a); got != "" {
					t.Fatalf("the session ended: %s", got)
				}
			})
		}
		t.Run("L2/tampered-post-logout-uri", func(t *testing.T) {
			resp, body := br.submit(page, body, map[string]string{"post_logout_redirect_uri": "https://evil.example/bye"})
			assertNoRedirect(t, resp, body)
			if got := fx.promptNone(t, br, fx.a); got != "" {
				t.Fatalf("the session ended: %s", got)
			}
		})
		t.Run("L4/confirmed-ends-session-and-redirects", func(t *testing.T) {
			resp, _ := br.submit(page, body, nil)
			assertRedirect(t, resp, postLogoutA+"?state=S9")
			if got := fx.promptNone(t, br, fx.b); got != "login_required" {
				t.Fatalf("prompt=none after confirmed logout: %q", got)
			}
		})
		t.Run("L2/no-params-confirm-then-signed-out-page", func(t *testing.T) {
			fx.signIn(t, br, fx.a)
			page, body := fx.endSession(br, nil)
			if page.StatusCode != http.StatusOK || !strings.Contains(body, `action="/logout"`) {
				t.Fatalf("want the confirmation page, got %d", page.StatusCode)
			}
			resp, body := br.submit(page, body, nil)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/logged-out" || !strings.Contains(body, "signed out") {
				t.Fatalf("want the signed-out page, got %d at %s", resp.StatusCode, resp.Request.URL)
			}
			if got := fx.promptNone(t, br, fx.a); got != "login_required" {
				t.Fatalf("prompt=none: %q", got)
			}
		})
		t.Run("no-session-no-question", func(t *testing.T) {
			resp, _ := fx.endSession(newBrowser(t, fx.p.URL), params)
			assertRedirect(t, resp, postLogoutA+"?state=S9")
		})
	})
}

// TestLogoutAndOfflineAccess: without offline_access refresh tokens die
// with the session; with it they survive logout, but not "log out
// everywhere" (checklist L3, S6, T12).
func TestLogoutAndOfflineAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		online := fx.signIn(t, br, fx.a)
		offline := fx.silent(t, br, fx.b, oauth2.SetAuthURLParam("scope", "openid offline_access"))

		resp, _ := fx.endSession(br, url.Values{"id_token_hint": {online.rawIDToken()}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/logged-out" {
			t.Fatalf("logout without post_logout_redirect_uri: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		t.Run("L3/session-bound-tokens-dead", func(t *testing.T) {
			fx.assertDead(t, "app-a", online.token.AccessToken)
			if _, err := fx.a.refresh(online.token.RefreshToken); grantError(err) != "invalid_grant" {
				t.Fatalf("refresh of a session-bound grant after logout: %v", err)
			}
		})
		var offlineAT, offlineRT string
		t.Run("L3/offline-grant-survives-logout", func(t *testing.T) {
			fx.assertLive(t, "app-b", offline.token.AccessToken)
			tok, err := fx.b.refresh(offline.token.RefreshToken)
			if err != nil {
				t.Fatalf("refresh of an offline grant after logout: %v", err)
			}
			offlineAT, offlineRT = tok.AccessToken, tok.RefreshToken
			fx.assertLive(t, "app-b", offlineAT)
			// A new ID token names no session that has ended (issue #13
			// item 2; OIDC Back-Channel Logout §2.1).
			raw, _ := tok.Extra("id_token").(string)
			if raw == "" {
				t.Fatal("refresh of an offline grant returned no ID token")
			}
			if _, claims := fx.p.verifyJWT(t, raw); claims["sid"] != nil {
				t.Fatalf("ID token after logout names the ended session: sid=%v", claims["sid"])
			}
		})
		t.Run("S6/logout-everywhere-ends-offline-grants", func(t *testing.T) {
			u, err := store.GetUserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			logout, err := session.New(session.Config{Store: store, Now: fx.p.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := logout.EndUserSessions(t.Context(), u.ID, session.ReasonForcedLogout); err != nil {
				t.Fatal(err)
			}
			fx.assertDead(t, "app-b", offlineAT)
			if _, err := fx.b.refresh(offlineRT); grantError(err) != "invalid_grant" {
				t.Fatalf("refresh of an offline grant after logout everywhere: %v", err)
			}
		})
	})
}
