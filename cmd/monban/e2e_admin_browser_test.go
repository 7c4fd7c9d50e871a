package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// adminArtifactDir receives the console's screenshots (gitignored).
const adminArtifactDir = "../../web/testdata/artifacts"

// newChromium starts headless Chromium (Debian's /usr/bin/chromium) for a
// test. Without it the test fails, unless MONBAN_SKIP_BROWSER_TESTS=1.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("MONBAN_SKIP_BROWSER_TESTS") == "1" {
		t.Skip("MONBAN_SKIP_BROWSER_TESTS=1")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium not found (%v): install the Debian package `chromium` "+
			"(apt-get install -y chromium), or set MONBAN_SKIP_BROWSER_TESTS=1 to skip browser tests", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// chrome runs browser steps with a timeout of their own.
func chrome(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (browser at %s)", step, err, loc)
	}
}

func adminScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(adminArtifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(adminArtifactDir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserAdminConsole: in headless Chromium an administrator signs in
// through /admin, registers a client with the form, copies its secret
// (the copy button is the only script, allowed by the CSP nonce), and the
// client then completes an authorization-code flow with x/oauth2.
func TestBrowserAdminConsole(t *testing.T) {
	ctx := newChromium(t)
	p := startProvider(t, memory.New())
	root := p.addUser(t, "root", "admin password 1")
	root.Admin = true
	if err := p.Store.UpdateUser(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"billing", "wiki", "reports"} {
		p.addClient(t, storage.Client{ID: n, Name: strings.ToUpper(n[:1]) + n[1:], RedirectURIs: []string{"https://" + n + ".example/cb"}})
	}

	chrome(t, ctx, "sign in",
		chromedp.Navigate(p.URL+"/admin/clients"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), "admin password 1"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	)
	adminScreenshot(t, ctx, "admin-clients.png")

	const redirect = "https://rp.example/cb"
	chrome(t, ctx, "open the form",
		chromedp.Click(chromedp.CSS(`a[href="/admin/clients/new"]`)),
		chromedp.WaitVisible(chromedp.ID("redirect_uris")),
	)
	adminScreenshot(t, ctx, "admin-client-new.png")
	chrome(t, ctx, "register a client",
		chromedp.SendKeys(chromedp.ID("id"), "shop"),
		chromedp.SendKeys(chromedp.ID("name"), "Shop"),
		chromedp.SendKeys(chromedp.ID("redirect_uris"), redirect),
		chromedp.Click(chromedp.CSS(`form.admin-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("copy")), // visible only if the nonce'd script ran
	)
	adminScreenshot(t, ctx, "admin-client-secret.png")
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("client_secret")))
	if err != nil || len(secret) < 32 {
		t.Fatalf("read the secret: %q, %v", secret, err)
	}
	chrome(t, ctx, "copy the secret", chromedp.Click(chromedp.ID("copy")))

	chrome(t, ctx, "client page", chromedp.Navigate(p.URL+"/admin/clients/shop"), chromedp.WaitVisible(chromedp.ID("name")))
	adminScreenshot(t, ctx, "admin-client-edit.png")
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML[string]("html")); strings.Contains(html, secret) {
		t.Fatal("the client page shows the secret again")
	}
	chrome(t, ctx, "audit trail", chromedp.Navigate(p.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS(`table.audit`)))
	if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.audit`))); !strings.Contains(text, "client.create") {
		t.Errorf("the audit trail does not show the registration: %q", text)
	}
	adminScreenshot(t, ctx, "admin-audit.png")
	chrome(t, ctx, "user page", chromedp.Navigate(p.URL+"/admin/users/"+root.ID), chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	adminScreenshot(t, ctx, "admin-user.png")
	chrome(t, ctx, "phone layout",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(p.URL+"/admin/clients"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	adminScreenshot(t, ctx, "admin-clients-phone.png")
	chrome(t, ctx, "phone form", chromedp.Navigate(p.URL+"/admin/clients/shop"), chromedp.WaitVisible(chromedp.ID("name")))
	adminScreenshot(t, ctx, "admin-client-edit-phone.png")

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
