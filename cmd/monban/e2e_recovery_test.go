package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
)

var resetLink = regexp.MustCompile(`http://[^\s"<>]+/password/reset\?token=[A-Za-z0-9_-]+`)

// mailStep runs one round of the mail worker and checks how many it sent.
func mailStep(t *testing.T, p *testProvider, wantSent int) {
	t.Helper()
	res, err := p.App.Mailer().Step(t.Context())
	if err != nil || res.Delivered != wantSent {
		t.Fatalf("mail step = %+v, %v; want %d sent", res, err, wantSent)
	}
}

// forgot asks for a reset link for id and returns the answer page.
func forgot(t *testing.T, p *testProvider, id string) (int, string) {
	t.Helper()
	br := newBrowser(t, p.URL)
	page, body := br.visit(p.URL + "/password/forgot")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /password/forgot = %d", page.StatusCode)
	}
	resp, body := br.submit(page, body, map[string]string{"identifier": id})
	return resp.StatusCode, body
}

// TestForgottenPassword is issue 16's "must show" for the forgotten
// password, with a real SMTP server (mailpit) on both stores: the answer
// for an existing and an unknown account is the same page byte for byte;
// the mailed link sets a new password once; a second use changes nothing;
// the old password stops working; every other session is ended and a
// back-channel logout is sent; the person is told by mail.
func TestForgottenPassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		smtp := mailpit.Start(t)
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
		}))
		registerLogoutClients(t, p, rcv)
		fx := openLogoutFixture(t, p, rcv)
		br := newBrowser(t, p.URL)
		tk := fx.signIn(t, br, fx.a) // the session the reset must end

		// The sign-in page links to the form.
		_, body := newBrowser(t, p.URL).visit(fx.b.start().URL)
		if !strings.Contains(body, `href="/password/forgot"`) {
			t.Error("the sign-in page has no link to /password/forgot")
		}

		status1, known := forgot(t, p, "alice")
		status2, unknown := forgot(t, p, "nobody-at-all")
		strip := regexp.MustCompile(`name="csrf_token" value="[^"]*"`) // none on the answer page, but be sure
		if status1 != http.StatusOK || status2 != http.StatusOK || strip.ReplaceAllString(known, "") != strip.ReplaceAllString(unknown, "") {
			t.Fatalf("answers differ: %d vs %d\n%s\n---\n%s", status1, status2, known, unknown)
		}
		if known != unknown {
			t.Fatal("the answer pages are not byte-identical")
		}
		mailStep(t, p, 1)
		msgs := smtp.To("alice@example.com")
		if len(msgs) != 1 {
			t.Fatalf("alice got %d messages, want 1", len(msgs))
		}
		link := resetLink.FindString(msgs[0].Text)
		if link == "" || !strings.Contains(msgs[0].HTML, link) {
			t.Fatalf("no reset link in the mail:\n%s", msgs[0].Text)
		}

		// Wrong token: a clear page, nothing changes.
		resp, body := br.visit(p.URL + "/password/reset?token=wrong")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This link does not work") {
			t.Fatalf("wrong token: %d", resp.StatusCode)
		}

		const newPassword = "a brand new and long passphrase 42"
		page, body := br.visit(link)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET reset link = %d", page.StatusCode)
		}
		resp, body = br.submit(page, body, map[string]string{"password": newPassword, "confirm": newPassword})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your password was changed") {
			t.Fatalf("reset = %d\n%s", resp.StatusCode, body)
		}
		// Second use: refused, nothing changes.
		resp, _ = br.visit(link)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("second use = %d, want 400", resp.StatusCode)
		}
		u, err := store.GetUserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := testHasher().Verify(alicePassword, u.PasswordHash); ok {
			t.Fatal("the old password still works")
		}
		if ok, _, _ := testHasher().Verify(newPassword, u.PasswordHash); !ok {
			t.Fatal("the new password does not work")
		}
		// The session is over: its refresh token refused, its app told.
		if _, err := fx.a.refresh(tk.token.RefreshToken); err == nil {
			t.Error("the refresh token of the old session still works")
		}
		step(t, p, 1, 0)
		if got := rcv.received(); len(got["app-a"]) != 1 {
			t.Errorf("back-channel logout tokens: %v, want one for app-a", got)
		}
		mailStep(t, p, 1)
		if msgs := smtp.To("alice@example.com"); len(msgs) != 2 || !strings.Contains(msgs[0].Subject, "password was changed") {
			t.Fatalf("no password-changed notice: %+v", msgs)
		}
	})
}

// testHasher verifies the test servers' password hashes.
func testHasher() *password.Hasher { return password.NewHasher(testHashParams, 1) }
