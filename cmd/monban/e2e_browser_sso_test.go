package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
)

// TestBrowserCrossSiteSSO covers checklist S2 in headless Chromium. The
// provider is on 127.0.0.1 and the applications on localhost: another
// site, as app1.test and app2.other.test would be. After signing in
// through app A, a top-level navigation from app B's page to /authorize
// gets a code without a login form (SameSite=Lax sends the session
// cookie on top-level GETs), while a hidden iframe with prompt=none from
// the same page gets login_required: the cookie is not sent in a
// cross-site frame. That is the documented limitation (README: RPs must
// use top-level redirects), shown here rather than assumed.
func TestBrowserCrossSiteSSO(t *testing.T) {
	ctx := browsertest.Start(t)
	p := newTestServer(t)
	p.addUser(t, "alice", alicePassword)

	// The applications' pages: the callback shows its query; /iframe
	// embeds a silent authorization request.
	var iframeURL string
	apps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/iframe":
			fmt.Fprintf(w, `<!DOCTYPE html><title>App B</title><iframe id="silent" src="%s" style="display:none"></iframe>`,
				html.EscapeString(iframeURL))
		default:
			fmt.Fprintf(w, `<!DOCTYPE html><title>App</title><p id="query">%s</p>`, html.EscapeString(r.URL.RawQuery))
		}
	}))
	t.Cleanup(apps.Close)
	appOrigin := strings.Replace(apps.URL, "127.0.0.1", "localhost", 1) // another site than the provider's
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
		t.Fatalf("provider at %s, want 127.0.0.1 for a cross-site setup", p.URL)
	}
	rps := map[string]*rp{}
	for _, id := range []string{"app-a", "app-b"} {
		redirect := appOrigin + "/" + id + "/cb"
		secret := p.addClient(t, storage.Client{ID: id, Name: id, RedirectURIs: []string{redirect}})
		rps[id] = newRP(t, p.URL, id, secret, redirect)
	}
	query := func(t *testing.T) url.Values {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("query")))
		if err != nil {
			t.Fatal(err)
		}
		q, err := url.ParseQuery(text)
		if err != nil {
			t.Fatalf("callback query %q: %v", text, err)
		}
		return q
	}

	browsertest.Do(t, ctx, "sign in through app A",
		chromedp.Navigate(rps["app-a"].start().URL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("query")),
	)
	if q := query(t); q.Get("code") == "" {
		t.Fatalf("no code after signing in: %v", q)
	}

	t.Run("S2/top-level-navigation-from-another-site", func(t *testing.T) {
		browsertest.Do(t, ctx, "from app B's page to /authorize",
			chromedp.Navigate(appOrigin+"/app-b/home"),
			chromedp.WaitVisible(chromedp.ID("query")),
			chromedp.Navigate(rps["app-b"].start().URL),
			chromedp.WaitVisible(chromedp.ID("query")),
		)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if q := query(t); q.Get("code") == "" || !strings.HasPrefix(loc, appOrigin+"/app-b/cb") {
			t.Fatalf("at %s with %v: want app B's callback with a code and no login form", loc, q)
		}
	})

	t.Run("S2/hidden-iframe-prompt-none-gets-login_required", func(t *testing.T) {
		iframeURL = rps["app-b"].start(oauth2.SetAuthURLParam("prompt", "none")).URL
		browsertest.Do(t, ctx, "open app B's page with a silent iframe", chromedp.Navigate(appOrigin+"/iframe"))
		var frame string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			// The frame ends on app B's callback, same origin as the page.
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`(() => { try { return document.getElementById("silent").contentWindow.location.href } catch (e) { return "" } })()`))
			if err == nil && strings.Contains(v, "/app-b/cb?") {
				frame = v
				break
			}
		}
		if frame == "" {
			t.Fatal("the silent iframe never reached app B's callback")
		}
		u, err := url.Parse(frame)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("error"); got != "login_required" || u.Query().Get("code") != "" {
			t.Fatalf("silent iframe ended at %s: want error=login_required and no code", frame)
		}
	})
}
