package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/cmd/internal/mailer/mailpit"
	"github.com/monban-idp/monban/web/browsertest"
)

// TestBrowserAccountPage is issue 16's headless Chromium test of the
// account page: alice signs in at /account, ends another browser's
// session (that browser is signed out and its refresh token refused),
// revokes an app (its refresh token is then refused), and changes her
// e-mail address through the link mailed to the new one (real SMTP).
func TestBrowserAccountPage(t *testing.T) {
	ctx := browsertest.Start(t)
	smtp := mailpit.Start(t)
	rcv := newReceiver(t)
	p := newTestServer(t, withConfig(func(c *app.Config) {
		c.Mail = app.MailConfig{SMTPURL: smtp.SMTPURL(), From: "monban <id@example.com>"}
	}))
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	tkA := fx.signIn(t, newBrowser(t, p.URL), fx.a)
	other := newBrowser(t, p.URL)
	tkB := fx.signIn(t, other, fx.b)
	sidB, _ := tkB.claims["sid"].(string)
	if sidB == "" {
		t.Fatal("no sid in app-b's ID token")
	}

	browsertest.Do(t, ctx, "sign in at /account",
		chromedp.Navigate(p.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("sessions")),
	)
	browsertest.Screenshot(t, ctx, adminArtifactDir, "account.png")
	browsertest.Do(t, ctx, "end the other browser's session",
		chromedp.Click(chromedp.CSS(`li[data-session="`+sidB+`"] button`)),
		accountDone("account.notice.session_ended"),
	)
	if resp, _ := other.visit(p.URL + "/account"); resp.Request.URL.Path != "/login" {
		t.Errorf("the other browser is still signed in: at %s", resp.Request.URL)
	}
	if _, err := fx.b.refresh(tkB.token.RefreshToken); err == nil {
		t.Error("the ended session's refresh token still works")
	}

	browsertest.Do(t, ctx, "revoke app-a",
		chromedp.Click(chromedp.CSS(`li[data-client="app-a"] button`)),
		accountDone("account.notice.app_revoked"),
	)
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML[string]("#apps")); err != nil || strings.Contains(html, `data-client="app-a"`) {
		t.Errorf("app-a is still listed after revoking it: %q, %v", html, err)
	}
	if _, err := fx.a.refresh(tkA.token.RefreshToken); err == nil {
		t.Error("the revoked app's refresh token still works")
	}

	browsertest.Do(t, ctx, "change the e-mail address",
		chromedp.SendKeys(chromedp.ID("email"), "alice@new.example"),
		chromedp.Click(chromedp.CSS(`form[action="/account/email"] button`)),
		accountDone("account.notice.mail_sent"),
	)
	mailStep(t, p, 1)
	msgs := smtp.To("alice@new.example")
	if len(msgs) != 1 {
		t.Fatalf("the new address got %d messages, want 1", len(msgs))
	}
	browsertest.Do(t, ctx, "follow the link",
		chromedp.Navigate(verifyLink.FindString(msgs[0].Text)),
		chromedp.WaitVisible(chromedp.ID("verified")),
	)
	browsertest.Screenshot(t, ctx, adminArtifactDir, "account-verified.png")
	u, err := p.Store.GetUserByUsername(t.Context(), "alice")
	if err != nil || u.Email != "alice@new.example" || !u.EmailVerified {
		t.Fatalf("after the link: %+v, %v", u, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("verified")))
	if err != nil || !strings.Contains(text, "alice@new.example") {
		t.Errorf("the page does not name the address: %q, %v", text, err)
	}
}

// accountDone waits until the account page is back from a change with
// the notice key (the notice of an earlier change may still be shown).
func accountDone(key string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`#account-notice[data-notice="` + key + `"]`))
}
