package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/storage"
)

var verifyLink = regexp.MustCompile(`http://[^\s"<>]+/account/verify\?token=[A-Za-z0-9_%-]+`)

// accountPost posts a form of the account page (body) to path.
func accountPost(t *testing.T, br *browser, p *testProvider, body, path string, values url.Values) (*http.Response, string) {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the account page:\n%s", body)
	}
	values.Set("csrf_token", m[1])
	resp, err := br.client.PostForm(p.URL+path, values)
	if err != nil {
		t.Fatal(err)
	}
	return br.read(resp)
}

// myAccountPage opens /account in br (signing in through the provider's
// own client, silently when br has a session).
func myAccountPage(t *testing.T, br *browser, p *testProvider) string {
	t.Helper()
	resp, body := br.visit(p.URL + "/account")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" {
		t.Fatalf("GET /account = %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return body
}

// TestAccountEmailVerification is issue 16's e-mail verification with a
// real SMTP server (mailpit) on both stores: the account page sends a
// link, following it sets email_verified (in the next ID token), a used
// link is refused; an e-mail change replaces the address only once the
// new one's link is followed, and the old address is told.
func TestAccountEmailVerification(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		smtp := mailpit.Start(t)
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
		}))
		registerLogoutClients(t, p, rcv)
		alice, err := store.GetUserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.UpdateUser(t.Context(), alice.ID, func(u *storage.User) error { u.EmailVerified = false; return nil }); err != nil {
			t.Fatal(err)
		}
		fx := openLogoutFixture(t, p, rcv)
		// The sign-in and signed-out pages link the account page.
		for _, u := range []string{fx.b.start().URL, p.URL + "/logged-out"} {
			if _, body := newBrowser(t, p.URL).visit(u); !strings.Contains(body, `href="/account"`) {
				t.Errorf("%s has no link to /account", u)
			}
		}
		br := newBrowser(t, p.URL)
		tk := fx.signIn(t, br, fx.a)
		if tk.claims["email_verified"] != false {
			t.Fatalf("email_verified before = %v", tk.claims["email_verified"])
		}
		body := myAccountPage(t, br, p)
		if !strings.Contains(body, `action="/account/email/verify"`) {
			t.Fatalf("no verify form:\n%s", body)
		}
		if resp, _ := accountPost(t, br, p, body, "/account/email/verify", url.Values{}); resp.StatusCode != http.StatusOK {
			t.Fatalf("ask for a link = %d", resp.StatusCode)
		}
		mailStep(t, p, 1)
		msgs := smtp.To("alice@example.com")
		if len(msgs) != 1 {
			t.Fatalf("alice got %d messages, want 1", len(msgs))
		}
		link := verifyLink.FindString(msgs[0].Text)
		if link == "" {
			t.Fatalf("no verification link in the mail:\n%s", msgs[0].Text)
		}
		resp, body := br.visit(link)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "verified") {
			t.Fatalf("follow the link = %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := br.visit(link); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a used link = %d, want 400", resp.StatusCode)
		}
		tk = fx.silent(t, br, fx.a)
		if tk.claims["email_verified"] != true {
			t.Fatalf("email_verified after the link = %v", tk.claims["email_verified"])
		}

		// Change the address: nothing changes until the new one's link
		// is followed; then the old one is told.
		body = myAccountPage(t, br, p)
		if resp, _ := accountPost(t, br, p, body, "/account/email", url.Values{"email": {"alice.new@example.org"}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("change e-mail = %d", resp.StatusCode)
		}
		if u, _ := store.GetUser(t.Context(), alice.ID); u.Email != "alice@example.com" {
			t.Fatalf("address changed before its link was followed: %q", u.Email)
		}
		mailStep(t, p, 1)
		msgs = smtp.To("alice.new@example.org")
		if len(msgs) != 1 {
			t.Fatalf("the new address got %d messages, want 1", len(msgs))
		}
		if resp, _ := br.visit(verifyLink.FindString(msgs[0].Text)); resp.StatusCode != http.StatusOK {
			t.Fatalf("follow the change link = %d", resp.StatusCode)
		}
		u, _ := store.GetUser(t.Context(), alice.ID)
		if u.Email != "alice.new@example.org" || !u.EmailVerified {
			t.Fatalf("after the change: %q verified %v", u.Email, u.EmailVerified)
		}
		mailStep(t, p, 1)
		if msgs := smtp.To("alice@example.com"); len(msgs) != 2 || !strings.Contains(msgs[0].Subject+msgs[1].Subject, "e-mail address was changed") {
			t.Fatalf("the old address was not told: %+v", msgs)
		}
	})
}

// TestAccountSessionsAndApps ends another browser's session from the
// account page (its refresh token is refused and the browser is signed
// out) and takes an app's access away (its refresh token is refused).
func TestAccountSessionsAndApps(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) { accountSessionsAndApps(t, store) })
}

func accountSessionsAndApps(t *testing.T, store storage.Store) {
	fx := newLogoutFixture(t, store)
	p := fx.p
	br := newBrowser(t, p.URL)
	tkA := fx.signIn(t, br, fx.a)
	other := newBrowser(t, p.URL)
	tkB := fx.signIn(t, other, fx.b)

	body := myAccountPage(t, br, p)
	if strings.Count(body, "data-session=") != 2 || !strings.Contains(body, `data-client="app-a"`) {
		t.Fatalf("want two sessions and app-a listed:\n%s", body)
	}
	resp, body := accountPost(t, br, p, body, "/account/sessions/end-others", url.Values{})
	if resp.StatusCode != http.StatusOK || strings.Count(body, "data-session=") != 1 {
		t.Fatalf("sign out everywhere else = %d\n%s", resp.StatusCode, body)
	}
	if _, err := fx.b.refresh(tkB.token.RefreshToken); err == nil {
		t.Error("the other session's refresh token still works")
	}
	if resp, _ := other.visit(p.URL + "/account"); resp.Request.URL.Path != "/login" {
		t.Errorf("the other browser is still signed in: at %s", resp.Request.URL)
	}

	resp, body = accountPost(t, br, p, body, "/account/apps/revoke", url.Values{"client": {"app-a"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if _, err := fx.a.refresh(tkA.token.RefreshToken); err == nil {
		t.Error("the revoked app's refresh token still works")
	}
}

// TestUserAddSendVerification: "monban user add --send-verification"
// queues the mail in the database's outbox; a running server over the
// same database delivers it through SMTP, and its link verifies the
// address.
func TestUserAddSendVerification(t *testing.T) {
	env, st := dbEnv(t)
	smtp := mailpit.Start(t)
	p := newTestServer(t, withStore(st), withConfig(func(c *app.Config) {
		c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
	}))
	env["MONBAN_ISSUER"] = p.URL
	if r := runCLI(t, env, "a long enough passphrase\n", "user", "add", "--username", "dora", "--email", "dora@example.com",
		"--email-verified", "--send-verification", "--password-stdin"); r.code != 2 || !strings.Contains(r.stderr, "contradict") {
		t.Fatalf("--email-verified with --send-verification: exit %d %s", r.code, r.stderr)
	}
	out := mustRun(t, env, "a long enough passphrase\n", "user", "add", "--username", "dora", "--email", "dora@example.com",
		"--send-verification", "--password-stdin").stdout
	if !strings.Contains(out, "Queued a verification mail to dora@example.com") {
		t.Fatalf("output: %q", out)
	}
	p.Clock.Advance(time.Minute) // the CLI stamps the mail with the wall clock, after the server's clock was set
	mailStep(t, p, 1)
	msgs := smtp.To("dora@example.com")
	if len(msgs) != 1 {
		t.Fatalf("dora got %d messages, want 1", len(msgs))
	}
	link := verifyLink.FindString(msgs[0].Text)
	if !strings.HasPrefix(link, p.URL+"/account/verify?token=") {
		t.Fatalf("link %q is not on the issuer %s", link, p.URL)
	}
	if resp, _ := newBrowser(t, p.URL).visit(link); resp.StatusCode != http.StatusOK {
		t.Fatalf("follow the link = %d", resp.StatusCode)
	}
	if u, err := st.GetUserByUsername(t.Context(), "dora"); err != nil || !u.EmailVerified {
		t.Fatalf("dora after the link: %+v, %v", u, err)
	}
}
