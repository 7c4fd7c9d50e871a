package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// TestConsent covers consent for clients registered as third-party
// (checklist A12 consent_required, A20): asked once per set of scopes,
// asked again for prompt=consent, and a denial reaches the client as
// access_denied.
func TestConsent(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		secret := fx.p.addClient(t, storage.Client{ID: "third", Name: "Third Party", RequireConsent: true,
			RedirectURIs: []string{"https://third.example.org/cb"}})
		third := newRP(t, fx.p.URL, "third", secret, "https://third.example.org/cb")
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)

		consentPage := func(t *testing.T, f *flow) (*http.Response, string) {
			t.Helper()
			page, body := br.visit(f.URL)
			if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/consent" || !strings.Contains(body, "Third Party") {
				t.Fatalf("want the consent page naming the client, got %d at %s", page.StatusCode, page.Request.URL)
			}
			return page, body
		}
		t.Run("A12/prompt-none-without-consent", func(t *testing.T) {
			f := third.start(oauth2.SetAuthURLParam("prompt", "none"))
			resp, _ := br.visit(f.URL)
			if q := third.callbackParams(resp, f, fx.p.URL); q.Get("error") != "consent_required" {
				t.Fatalf("got %v, want consent_required", q)
			}
		})
		t.Run("A20/deny", func(t *testing.T) {
			f := third.start()
			page, body := consentPage(t, f)
			resp, _ := br.submit(page, body, map[string]string{"action": "deny"})
			q := third.callbackParams(resp, f, fx.p.URL)
			if q.Get("error") != "access_denied" || q.Get("code") != "" {
				t.Fatalf("got %v, want access_denied", q)
			}
		})
		t.Run("approve", func(t *testing.T) {
			f := third.start()
			page, body := consentPage(t, f)
			resp, _ := br.submit(page, body, map[string]string{"action": "approve"})
			q := third.callbackParams(resp, f, fx.p.URL)
			if _, err := third.exchange(q.Get("code"), f); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("remembered", func(t *testing.T) {
			fx.silent(t, br, third)
		})
		t.Run("more-scopes-asks-again", func(t *testing.T) {
			f := third.start(oauth2.SetAuthURLParam("scope", "openid profile email offline_access"))
			consentPage(t, f)
		})
		// OIDC Core §3.1.2.1: prompt=consent asks even for a client
		// registered without consent (issue #13 item 12).
		t.Run("prompt=consent-asks-first-party-client", func(t *testing.T) {
			f := fx.a.start(oauth2.SetAuthURLParam("prompt", "consent"))
			page, body := br.visit(f.URL)
			if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/consent" {
				t.Fatalf("prompt=consent for a client without consent: %d at %s, want the consent page", page.StatusCode, page.Request.URL)
			}
			resp, _ := br.submit(page, body, map[string]string{"action": "approve"})
			q := fx.a.callbackParams(resp, f, fx.p.URL)
			if _, err := fx.a.exchange(q.Get("code"), f); err != nil {
				t.Fatal(err)
			}
			fx.silent(t, br, fx.a) // without prompt=consent it stays silent
		})
		t.Run("prompt=consent-asks-again", func(t *testing.T) {
			f := third.start(oauth2.SetAuthURLParam("prompt", "consent"))
			page, body := consentPage(t, f)
			resp, _ := br.submit(page, body, map[string]string{"action": "approve"})
			q := third.callbackParams(resp, f, fx.p.URL)
			if _, err := third.exchange(q.Get("code"), f); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestIDTokenHintAndSessionRenewal covers id_token_hint for another user
// (checklist A12) and what a sign-in does to the browser's session (S4).
func TestIDTokenHintAndSessionRenewal(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		fx.p.addUser(t, "bob", "bob's long passphrase")
		bobBrowser := newBrowser(t, fx.p.URL)
		f := fx.a.start()
		page, body := bobBrowser.visit(f.URL)
		resp, _ := bobBrowser.submit(page, body, map[string]string{"username": "bob", "password": "bob's long passphrase"})
		bobTokens, err := fx.a.exchange(fx.a.callbackParams(resp, f, fx.p.URL).Get("code"), f)
		if err != nil {
			t.Fatal(err)
		}
		bobHint, _ := bobTokens.token.Extra("id_token").(string)

		br := newBrowser(t, fx.p.URL)
		alice := fx.signIn(t, br, fx.a)
		aliceHint, _ := alice.token.Extra("id_token").(string)

		t.Run("A12/hint-same-user-silent", func(t *testing.T) {
			fx.silent(t, br, fx.b, oauth2.SetAuthURLParam("id_token_hint", aliceHint), oauth2.SetAuthURLParam("prompt", "none"))
		})
		t.Run("A12/hint-other-user-prompt-none", func(t *testing.T) {
			f := fx.b.start(oauth2.SetAuthURLParam("id_token_hint", bobHint), oauth2.SetAuthURLParam("prompt", "none"))
			resp, _ := br.visit(f.URL)
			if q := fx.b.callbackParams(resp, f, fx.p.URL); q.Get("error") != "login_required" {
				t.Fatalf("got %v, want login_required", q)
			}
		})
		t.Run("A12/hint-garbage", func(t *testing.T) {
			f := fx.b.start(oauth2.SetAuthURLParam("id_token_hint", "a.b.c"))
			resp, _ := br.visit(f.URL)
			if q := fx.b.callbackParams(resp, f, fx.p.URL); q.Get("error") != "invalid_request" {
				t.Fatalf("got %v, want invalid_request", q)
			}
		})
		t.Run("A12/hint-other-user-shows-login", func(t *testing.T) {
			f := fx.b.start(oauth2.SetAuthURLParam("id_token_hint", bobHint))
			page, body := br.visit(f.URL)
			if page.Request.URL.Path != "/login" || !strings.Contains(body, `name="password"`) {
				t.Fatalf("want the login form, got %s", page.Request.URL)
			}
		})
		t.Run("S4/same-user-reauth-keeps-sid", func(t *testing.T) {
			// A step-up renews the session in place: new cookie value and
			// auth_time, same sid, so the other apps stay signed in.
			fx.p.Clock.Advance(time.Minute)
			again := fx.signIn(t, br, fx.a, oauth2.SetAuthURLParam("prompt", "login"))
			if again.claims["sid"] != alice.claims["sid"] || again.claims["auth_time"].(float64) <= alice.claims["auth_time"].(float64) {
				t.Fatalf("re-auth: sid %v→%v auth_time %v→%v", alice.claims["sid"], again.claims["sid"],
					alice.claims["auth_time"], again.claims["auth_time"])
			}
			s, err := store.GetSession(t.Context(), alice.claims["sid"].(string))
			if err != nil || !s.RevokedAt.IsZero() {
				t.Fatalf("session revoked by a re-authentication: %+v, %v", s, err)
			}
		})
		t.Run("S4/other-user-gets-new-session", func(t *testing.T) {
			f := fx.a.start(oauth2.SetAuthURLParam("prompt", "login"))
			page, body := br.visit(f.URL)
			resp, _ := br.submit(page, body, map[string]string{"username": "bob", "password": "bob's long passphrase"})
			bob, err := fx.a.exchange(fx.a.callbackParams(resp, f, fx.p.URL).Get("code"), f)
			if err != nil {
				t.Fatal(err)
			}
			if bob.claims["sid"] == alice.claims["sid"] || bob.idToken.Subject == alice.idToken.Subject {
				t.Fatalf("bob got alice's session: %v", bob.claims)
			}
			old, err := store.GetSession(t.Context(), alice.claims["sid"].(string))
			if err != nil || old.RevokedAt.IsZero() {
				t.Fatalf("alice's session not revoked when bob signed in: %+v, %v", old, err)
			}
		})
	})
}

// TestAuthorizePost covers checklist A17: the authorization endpoint
// accepts POST (OIDC Core §3.1.2.1), ignores unknown parameters, and
// rejects repeated ones (B5).
func TestAuthorizePost(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)
		f := fx.a.start(oauth2.SetAuthURLParam("extra", "foobar"))
		u, _ := url.Parse(f.URL)
		resp, err := br.client.PostForm(fx.p.URL+"/authorize", u.Query())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /authorize: status %d, want 303", resp.StatusCode)
		}
		q := fx.a.callbackParams(resp, f, fx.p.URL)
		if _, err := fx.a.exchange(q.Get("code"), f); err != nil {
			t.Fatal(err)
		}

		t.Run("B5/repeated-scope", func(t *testing.T) {
			v := u.Query()
			v.Add("scope", "openid")
			resp, _ := br.visit(fx.p.URL + "/authorize?" + v.Encode())
			if q := fx.a.callbackParams(resp, f, fx.p.URL); q.Get("error") != "invalid_request" {
				t.Fatalf("got %v, want invalid_request", q)
			}
		})
	})
}
