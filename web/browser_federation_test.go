package web

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
	"github.com/monban-idp/monban/web/connector"
)

// TestBrowserJapaneseUpstreamLayout lays out the upstream sign-in's pages
// (the sign-in page with its buttons, the link page, the account page
// listing a linked identity) in Japanese in headless Chromium at 390 and
// 1280 px. The "upstream" is a route of the test server that answers at
// once, as a signed-in upstream would.
func TestBrowserJapaneseUpstreamLayout(t *testing.T) {
	ctx := newChromium(t)
	shots, err := os.MkdirTemp("", "monban-ja-upstream-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)
	up := &fakeUpstream{ident: connector.Identity{ConnectorID: "up", Subject: "s", Email: "alice@example.com", EmailVerified: true}}
	e := newEnv(t, false, withUpstream(up, true), func(c *Config) {
		c.Connectors = append(c.Connectors, Connector{ID: "entra", Redirector: up,
			Names: map[string]string{"": "Microsoft Entra ID（株式会社サンプル テナント）"}})
	})
	up.base = e.srv.URL + "/test-upstream"
	e.srvMux().HandleFunc("GET /test-upstream", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"state": {q.Get("state")},
			"code": {"code-for-" + q.Get("nonce") + q.Get("verifier")}}.Encode(), http.StatusFound)
	})
	_, err = e.store.UpdateUser(t.Context(), "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	ja := func(r *storage.AuthRequest) { r.UILocales = []string{"ja"} }
	do(t, ctx, "pick Japanese", chromedp.Navigate(e.srv.URL+"/lang?lang=ja&next=/logged-out"), chromedp.WaitVisible(chromedp.CSS("h1")))
	for _, width := range []int64{390, 1280} {
		shot := func(name string) {
			browsertest.Screenshot(t, ctx, shots, fmt.Sprintf("%s-%d.png", name, width))
			browsertest.CheckLayout(t, ctx, fmt.Sprintf("%s at %d px", name, width))
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, 844))
		id := e.newRequest(ja)
		do(t, ctx, "open the sign-in page", chromedp.Navigate(e.srv.URL+e.h.SignInURL(id)),
			chromedp.WaitVisible(chromedp.ID("connector-up")))
		shot("login-connectors")
		do(t, ctx, "sign in upstream", chromedp.Click(chromedp.ID("connector-up")), chromedp.WaitVisible(chromedp.ID("code")))
		shot("link")
		do(t, ctx, "wrong password", chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "wrong"), chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("link-error")))
		shot("link-error")
		if width == 1280 { // linked once; the account page lists it
			do(t, ctx, "right password", chromedp.SetValue(chromedp.ID("username"), "alice"),
				chromedp.SetValue(chromedp.ID("password"), alicePassword), chromedp.Submit(chromedp.ID("password")),
				chromedp.WaitNotPresent(chromedp.ID("link-error")))
			do(t, ctx, "open the account page", chromedp.Navigate(e.srv.URL+accountPath), chromedp.WaitVisible(chromedp.ID("linked")))
			shot("account-linked")
		}
	}
}
