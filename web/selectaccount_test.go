package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSelectAccountPage checks the account page of prompt=select_account
// (issue #13 item 3) at the page level: what it shows, that its POST
// needs the CSRF token, and what each answer does.
func TestSelectAccountPage(t *testing.T) {
	e := newEnv(t, false)
	e.addUser("u-bob", "bob", "plain:"+alicePassword, false)
	alice, _ := signedIn(t, e)

	t.Run("shows the signed-in account", func(t *testing.T) {
		id := e.newRequest()
		p := e.get(alice, e.h.SelectAccountURL(id))
		for _, want := range []string{"Example App", "Continue as Alice (alice)", "Use another account",
			`value="continue"`, `value="another"`, `action="/select-account"`, `name="account" value="u-alice"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("account page lacks %s:\n%s", want, p.body)
			}
		}
	})
	tests := []struct {
		name       string
		browser    func() *http.Client
		form       func(id, token string) url.Values
		wantStatus int
		wantTo     string // Location prefix, for a redirect
		wantBody   string
	}{
		{name: "continue", browser: func() *http.Client { return alice },
			form: func(id, tok string) url.Values {
				return url.Values{"id": {id}, "csrf_token": {tok}, "action": {"continue"}, "account": {"u-alice"}}
			},
			wantStatus: http.StatusSeeOther, wantTo: callbackPath},
		{name: "another account", browser: func() *http.Client { return alice },
			form: func(id, tok string) url.Values {
				return url.Values{"id": {id}, "csrf_token": {tok}, "action": {"another"}}
			},
			wantStatus: http.StatusSeeOther, wantTo: loginPath + "?id="},
		{name: "the session changed to another account meanwhile", browser: func() *http.Client { return alice },
			form: func(id, tok string) url.Values {
				return url.Values{"id": {id}, "csrf_token": {tok}, "action": {"continue"}, "account": {"u-bob"}}
			},
			wantStatus: http.StatusOK, wantBody: "Continue as Alice (alice)"},
		{name: "no CSRF token", browser: func() *http.Client { return alice },
			form: func(id, _ string) url.Values {
				return url.Values{"id": {id}, "action": {"continue"}, "account": {"u-alice"}}
			},
			wantStatus: http.StatusForbidden},
		{name: "no choice", browser: func() *http.Client { return alice },
			form: func(id, tok string) url.Values {
				return url.Values{"id": {id}, "csrf_token": {tok}, "account": {"u-alice"}}
			},
			wantStatus: http.StatusBadRequest, wantBody: en(chooseAccountD)},
		{name: "signed out meanwhile", browser: e.browser,
			form: func(id, tok string) url.Values {
				return url.Values{"id": {id}, "csrf_token": {tok}, "action": {"continue"}, "account": {"u-alice"}}
			},
			wantStatus: http.StatusSeeOther, wantTo: loginPath + "?id="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.browser()
			id := e.newRequest()
			// A browser without a session is sent to the sign-in form by
			// the GET; it gets its token from that form.
			tok := csrf(t, e.get(c, e.h.SignInURL(id)))
			got := e.post(c, selectAccountPath, tt.form(id, tok))
			if got.status != tt.wantStatus || !strings.HasPrefix(got.header.Get("Location"), tt.wantTo) || !strings.Contains(got.body, tt.wantBody) {
				t.Fatalf("got %d to %q, want %d to %q with %q:\n%s", got.status, got.header.Get("Location"), tt.wantStatus, tt.wantTo, tt.wantBody, got.body)
			}
			bound := e.authRequest(id).Authenticated()
			if bound != (tt.name == "continue") {
				t.Errorf("request bound to a session: %v", bound)
			}
		})
	}
	t.Run("without a session the GET shows the sign-in form", func(t *testing.T) {
		id := e.newRequest()
		got := e.get(e.browser(), e.h.SelectAccountURL(id))
		if got.status != http.StatusFound || got.header.Get("Location") != e.h.SignInURL(id) {
			t.Fatalf("got %d to %q, want the sign-in page", got.status, got.header.Get("Location"))
		}
	})
}
