package main

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// TestPromptSelectAccount is issue #13 item 3: prompt=select_account
// (OIDC Core §3.1.2.1), which discovery advertises, shows an account page
// when the browser has a session: "Continue as" gets a code without a
// password; "Use another account" shows the sign-in form, and signing in
// there as bob gives bob's ID token and leaves alice's session behind.
func TestPromptSelectAccount(t *testing.T) {
	selectAccount := oauth2.SetAuthURLParam("prompt", "select_account")
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		bob := fx.p.addUser(t, "bob", "bob's long enough password")
		alice, err := store.GetUserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("without a session: the sign-in form", func(t *testing.T) {
			br := newBrowser(t, fx.p.URL)
			tok := fx.signIn(t, br, fx.a, selectAccount)
			if tok.idToken.Subject != alice.ID {
				t.Fatalf("sub = %s, want alice", tok.idToken.Subject)
			}
		})

		t.Run("continue as the signed-in account", func(t *testing.T) {
			br := newBrowser(t, fx.p.URL)
			first := fx.signIn(t, br, fx.a)
			f := fx.b.start(selectAccount)
			page, body := accountPage(t, br, f.URL)
			if !strings.Contains(body, "Continue as Alice (alice)") {
				t.Fatalf("the account page does not name alice:\n%s", body)
			}
			resp, _ := br.submit(page, body, map[string]string{"action": "continue"})
			q := fx.b.callbackParams(resp, f, fx.p.URL)
			tok, err := fx.b.exchange(q.Get("code"), f)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.idToken.Subject != alice.ID || tok.claims["sid"] != first.claims["sid"] {
				t.Errorf("sub %s sid %v, want alice's first session %v", tok.idToken.Subject, tok.claims["sid"], first.claims["sid"])
			}
			if tok.claims["auth_time"] != first.claims["auth_time"] {
				t.Errorf("auth_time changed without a sign-in: %v vs %v", tok.claims["auth_time"], first.claims["auth_time"])
			}
		})

		t.Run("use another account", func(t *testing.T) {
			br := newBrowser(t, fx.p.URL)
			first := fx.signIn(t, br, fx.a)
			f := fx.b.start(selectAccount)
			page, body := accountPage(t, br, f.URL)
			form, formBody := br.submit(page, body, map[string]string{"action": "another"})
			if form.StatusCode != http.StatusOK || !strings.Contains(formBody, `name="password"`) {
				t.Fatalf("want the sign-in form, got %d at %s:\n%s", form.StatusCode, form.Request.URL, formBody)
			}
			resp, _ := br.submit(form, formBody, map[string]string{"username": "bob", "password": "bob's long enough password"})
			q := fx.b.callbackParams(resp, f, fx.p.URL)
			tok, err := fx.b.exchange(q.Get("code"), f)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.idToken.Subject != bob.ID {
				t.Fatalf("sub = %s, want bob %s", tok.idToken.Subject, bob.ID)
			}
			if tok.claims["sid"] == first.claims["sid"] {
				t.Errorf("bob's ID token names alice's session %v", first.claims["sid"])
			}
			// The browser is bob's now: app A silently gets bob, and
			// alice's session is no longer live.
			again := fx.silent(t, br, fx.a)
			if again.idToken.Subject != bob.ID {
				t.Errorf("after switching, app A silently got %s, want bob", again.idToken.Subject)
			}
			live, err := store.ListUserSessions(t.Context(), alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range live {
				if s.ID == first.claims["sid"] {
					t.Errorf("alice's session %s is still live", s.ID)
				}
			}
		})

		t.Run("prompt=none with select_account is refused", func(t *testing.T) {
			br := newBrowser(t, fx.p.URL)
			fx.signIn(t, br, fx.a)
			f := fx.b.start(oauth2.SetAuthURLParam("prompt", "none select_account"))
			resp, _ := br.visit(f.URL)
			if q := fx.b.callbackParams(resp, f, fx.p.URL); q.Get("error") != "invalid_request" {
				t.Fatalf("got %v, want invalid_request", q)
			}
		})
	})
}

// accountPage opens an authorization request that must show the account
// page, not the sign-in form and not a code.
func accountPage(t *testing.T, br *browser, authURL string) (*http.Response, string) {
	t.Helper()
	page, body := br.visit(authURL)
	if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/select-account" || strings.Contains(body, `name="password"`) {
		t.Fatalf("want the account page, got %d at %s:\n%s", page.StatusCode, page.Request.URL, body)
	}
	return page, body
}
