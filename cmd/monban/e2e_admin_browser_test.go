package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
)

// adminArtifactDir receives the console's screenshots (gitignored).
const adminArtifactDir = "../../web/testdata/artifacts"

// TestBrowserAdminConsole: in headless Chromium an administrator signs in
// through /admin, registers a client with the form, copies its secret
// (the copy button is the only script, allowed by the CSP nonce), and the
// client then completes an authorization-code flow with x/oauth2.
func TestBrowserAdminConsole(t *testing.T) {
	ctx := browsertest.Start(t)
	p := newTestServer(t)
	root := p.addUser(t, "root", "admin password 1")
	if _, err := p.Store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"billing", "wiki", "reports"} {
		p.addClient(t, storage.Client{ID: n, Name: strings.ToUpper(n[:1]) + n[1:], RedirectURIs: []string{"https://" + n + ".example/cb"}})
	}

	browsertest.Do(t, ctx, "sign in",
		chromedp.Navigate(p.URL+"/admin/clients"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), "admin password 1"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	)
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-clients.png")

	const redirect = "https://rp.example/cb"
	browsertest.Do(t, ctx, "open the form",
		chromedp.Click(chromedp.CSS(`a[href="/admin/clients/new"]`)),
		chromedp.WaitVisible(chromedp.ID("redirect_uris")),
	)
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-client-new.png")
	browsertest.Do(t, ctx, "register a client",
		chromedp.SendKeys(chromedp.ID("id"), "shop"),
		chromedp.SendKeys(chromedp.ID("name"), "Shop"),
		chromedp.SendKeys(chromedp.ID("redirect_uris"), redirect),
		chromedp.Click(chromedp.CSS(`form.admin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("copy")), // visible only if the nonce'd script ran
	)
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-client-secret.png")
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("client_secret")))
	if err != nil || len(secret) < 32 {
		t.Fatalf("read the secret: %q, %v", secret, err)
	}
	browsertest.Do(t, ctx, "copy the secret", chromedp.Click(chromedp.ID("copy")))

	browsertest.Do(t, ctx, "client page", chromedp.Navigate(p.URL+"/admin/clients/shop"), chromedp.WaitVisible(chromedp.ID("name")))
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-client-edit.png")
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML[string]("html")); strings.Contains(html, secret) {
		t.Fatal("the client page shows the secret again")
	}
	browsertest.Do(t, ctx, "audit trail", chromedp.Navigate(p.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS(`table.audit`)))
	if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.audit`))); !strings.Contains(text, "client.create") {
		t.Errorf("the audit trail does not show the registration: %q", text)
	}
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-audit.png")
	browsertest.Do(t, ctx, "user page", chromedp.Navigate(p.URL+"/admin/users/"+root.ID), chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-user.png")
	browsertest.Do(t, ctx, "phone layout",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(p.URL+"/admin/clients"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-clients-phone.png")
	browsertest.Do(t, ctx, "phone form", chromedp.Navigate(p.URL+"/admin/clients/shop"), chromedp.WaitVisible(chromedp.ID("name")))
	browsertest.Screenshot(t, ctx, adminArtifactDir, "admin-client-edit-phone.png")

	// The new client signs someone in (over HTTP, another browser).
	b := newBrowser(t, p.URL)
	bob := p.addUser(t, "bob", "bob password 12")
	rp := newRP(t, p.URL, "shop", secret, redirect)
	f := rp.start()
	resp, body := b.visit(f.URL)
	resp, body = b.submit(resp, body, map[string]string{"username": "bob", "password": "bob password 12"})
	if resp.Request.URL.Path == "/consent" {
		resp, _ = b.submit(resp, body, map[string]string{"action": "approve"})
	}
	q := rp.callbackParams(resp, f, p.URL)
	tok, err := rp.exchange(q.Get("code"), f)
	if err != nil {
		t.Fatalf("authorization-code flow with the console's client: %v", err)
	}
	if tok.idToken.Subject != bob.ID {
		t.Errorf("sub = %q, want %q", tok.idToken.Subject, bob.ID)
	}
}
