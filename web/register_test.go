package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func withRegistration(c *Config) {
	c.Registration = RegistrationConfig{Mode: RegistrationDomains, Domains: []string{"example.com"}}
}

const carolPassword = "carol's long passphrase 7"

// registerPages renders every page of self-registration (and its mail)
// in c's language.
func registerPages(t *testing.T, e *testEnv, c *http.Client) map[string]page {
	t.Helper()
	pages := map[string]page{}
	pages["register"] = e.get(c, RegisterPath)
	tok := csrf(t, pages["register"])
	pages["register-domain"] = e.post(c, RegisterPath, url.Values{"csrf_token": {tok}, "username": {"carol"},
		"email": {"carol@elsewhere.example"}, "password": {carolPassword}, "confirm": {carolPassword}})
	pages["register-sent"] = e.post(c, RegisterPath, url.Values{"csrf_token": {tok}, "username": {"carol"},
		"email": {"carol@example.com"}, "password": {carolPassword}, "confirm": {carolPassword}})
	token, m := verifyToken(t, e)
	pages["mail-register"] = page{status: http.StatusOK, body: strings.ReplaceAll(m.HTML, url.QueryEscape(token), "")}
	pages["register-done"] = e.get(c, RegisterVerifyPath+"?token="+url.QueryEscape(token))
	return pages
}

func TestRegistration(t *testing.T) {
	e := newEnv(t, false, withMail, withRegistration)
	c := e.browser()
	if p := e.get(c, e.h.SignInURL(e.newRequest())); !strings.Contains(p.body, `href="/register"`) {
		t.Error("the sign-in page does not link /register")
	}
	pages := registerPages(t, e, c)
	for name, want := range map[string]int{"register": 200, "register-domain": 400, "register-sent": 200, "register-done": 200} {
		if pages[name].status != want {
			t.Errorf("%s: status %d, want %d\n%s", name, pages[name].status, want, pages[name].body)
		}
	}
	u, err := e.store.GetUserByUsername(t.Context(), "carol")
	e.must(err)
	if u.Email != "carol@example.com" || !u.EmailVerified || u.Disabled {
		t.Fatalf("registered user: %+v", u)
	}
	if p := e.login(c, e.newRequest(), "carol", carolPassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign in as the new account: %d", p.status)
	}

	// A taken username answers the same page, and mails a notice instead
	// of a link; an unused link for a taken username changes nothing.
	tok := csrf(t, e.get(c, RegisterPath))
	form := url.Values{"csrf_token": {tok}, "username": {"carol"}, "email": {"other@example.com"},
		"password": {carolPassword}, "confirm": {carolPassword}}
	p := e.post(c, RegisterPath, form)
	if p.status != http.StatusOK || p.body != pages["register-sent"].body {
		t.Fatalf("a taken username answers differently: %d", p.status)
	}
	_, m := verifyTokenless(t, e)
	if m.Kind != "registration_taken" || strings.Contains(m.Text, "token=") {
		t.Fatalf("mail for a taken username: %s\n%s", m.Kind, m.Text)
	}
	reused := pages["register-done"].resp.Request.URL.String()
	if p := e.get(c, strings.TrimPrefix(reused, e.srv.URL)); p.status != http.StatusBadRequest {
		t.Fatalf("a used link: %d", p.status)
	}
	for name, link := range map[string]string{"garbage": "x", "empty": ""} {
		if p := e.get(c, RegisterVerifyPath+"?token="+link); p.status != http.StatusBadRequest {
			t.Errorf("%s link: %d", name, p.status)
		}
	}
	// An expired link.
	tok = csrf(t, e.get(c, RegisterPath))
	form.Set("csrf_token", tok)
	form.Set("username", "dave")
	form.Set("email", "dave@example.com")
	e.post(c, RegisterPath, form)
	token, _ := verifyToken(t, e)
	e.clock.Advance(RegisterTTL + time.Minute)
	if p := e.get(c, RegisterVerifyPath+"?token="+url.QueryEscape(token)); p.status != http.StatusBadRequest {
		t.Fatalf("an expired link: %d", p.status)
	}
	if _, err := e.store.GetUserByUsername(t.Context(), "dave"); err == nil {
		t.Fatal("an expired link created the account")
	}
}

func TestRegistrationOff(t *testing.T) {
	e := newEnv(t, false, withMail)
	if p := e.get(e.browser(), RegisterPath); p.status != http.StatusNotFound {
		t.Fatalf("GET /register with registration off = %d", p.status)
	}
	if err := (RegistrationConfig{Mode: "sometimes"}).check(); err == nil {
		t.Error("an unknown mode was accepted")
	}
	if err := (RegistrationConfig{Mode: RegistrationDomains}).check(); err == nil {
		t.Error("domains without a domain was accepted")
	}
}
