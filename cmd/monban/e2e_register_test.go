package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web"
)

var registerLink = regexp.MustCompile(`http://[^\s"<>]+/register/verify\?token=[A-Za-z0-9_%-]+`)

// TestSelfRegistration: with registration limited to a domain, a person
// signs up, nothing exists until the mailed link (real SMTP) is followed,
// the link creates the account once, and an app then signs them in with
// email_verified true. An address outside the domain is refused.
func TestSelfRegistration(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		smtp := mailpit.Start(t)
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
			c.Registration = web.RegistrationConfig{Mode: web.RegistrationDomains, Domains: []string{"example.org"}}
		}))
		registerLogoutClients(t, p, rcv)
		fx := openLogoutFixture(t, p, rcv)
		const pw = "erin's own long passphrase"
		signUp := func(email string) (int, string) {
			br := newBrowser(t, p.URL)
			page, body := br.visit(p.URL + "/register")
			if page.StatusCode != http.StatusOK {
				t.Fatalf("GET /register = %d", page.StatusCode)
			}
			resp, body := br.submit(page, body, map[string]string{"username": "erin", "email": email, "password": pw, "confirm": pw})
			return resp.StatusCode, body
		}
		if status, _ := signUp("erin@example.com"); status != http.StatusBadRequest {
			t.Fatalf("an address outside the domain = %d, want 400", status)
		}
		if status, _ := signUp("erin@example.org"); status != http.StatusOK {
			t.Fatalf("sign up = %d", status)
		}
		if _, err := store.GetUserByUsername(t.Context(), "erin"); err == nil {
			t.Fatal("the account exists before its link was followed")
		}
		mailStep(t, p, 1)
		msgs := smtp.To("erin@example.org")
		if len(msgs) != 1 {
			t.Fatalf("erin got %d messages", len(msgs))
		}
		link := registerLink.FindString(msgs[0].Text)
		br := newBrowser(t, p.URL)
		if resp, body := br.visit(link); resp.StatusCode != http.StatusOK || !strings.Contains(body, "erin") {
			t.Fatalf("follow the link = %d", resp.StatusCode)
		}
		if resp, _ := br.visit(link); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a used link = %d, want 400", resp.StatusCode)
		}
		f := fx.a.start()
		page, body := br.visit(f.URL)
		resp, _ := br.submit(page, body, map[string]string{"username": "erin", "password": pw})
		tk, err := fx.a.exchange(fx.a.callbackParams(resp, f, p.URL).Get("code"), f)
		if err != nil {
			t.Fatal(err)
		}
		if tk.claims["email"] != "erin@example.org" || tk.claims["email_verified"] != true {
			t.Fatalf("ID token: %v", tk.claims)
		}
	})
}
