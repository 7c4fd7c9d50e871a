package admin_test

import (
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
)

// TestBrowserJapaneseAdmin opens the Japanese admin console's pages in
// headless Chromium at 390 px and 1280 px and fails on horizontal
// overflow or clipped text; screenshots go to a temporary folder named in
// the log.
func TestBrowserJapaneseAdmin(t *testing.T) {
	ctx := browsertest.Start(t)
	shots, err := os.MkdirTemp("", "monban-ja-admin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the Japanese admin console: %s", shots)
	e := newEnv(t)
	// A linked upstream identity (issue 18), so the user page shows its table.
	e.must(e.store.CreateFederatedIdentity(t.Context(), &storage.FederatedIdentity{ConnectorID: "entra",
		Subject: "00000000-0000-0000-0000-0000000000b0", UserID: "u-bob", Email: "bob.longname@corp.example.co.jp",
		CreatedAt: e.clock.Now(), LastUsedAt: e.clock.Now()}))
	c := e.browser("u-admin")
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: e.srv.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "monban_lang", Value: "ja", URL: e.srv.URL}); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{
		"home": "/admin", "clients": "/admin/clients", "client": "/admin/clients/app", "new-client": "/admin/clients/new",
		"users": "/admin/users", "user": "/admin/users/u-bob", "sessions": "/admin/sessions", "keys": "/admin/keys",
		"audit": "/admin/audit", "audit-error": "/admin/audit?since=bad",
		"signout": "/admin/signout", "disable-confirm": "/admin/users/u-bob/disable",
		"rotate-confirm": "/admin/clients/app/rotate-secret", "deleted": "/admin/clients/gone/deleted",
		"groups": "/admin/groups", "group": "/admin/groups/g-staff", "group-delete": "/admin/groups/g-staff/delete",
		"user-delete": "/admin/users/u-bob/delete", "sessions-of-user": "/admin/sessions?user=bob",
		"users-search": "/admin/users?q=b", "reset-factors": "/admin/users/u-bob/reset-factors",
	}
	for _, width := range []int64{390, 1280} {
		browsertest.Do(t, ctx, "viewport", chromedp.EmulateViewport(width, 844))
		for name, path := range pages {
			browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
			if lang, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang")); err != nil || lang != "ja" {
				t.Errorf("%s: <html lang=%q> (%v), want ja", path, lang, err)
			}
			browsertest.Screenshot(t, ctx, shots, fmt.Sprintf("%s-%d.png", name, width))
			browsertest.CheckLayout(t, ctx, fmt.Sprintf("%s at %d px", path, width))
		}
	}
}
