package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
)

// LayoutProblems is JavaScript that lists what does not fit on the page:
// horizontal scrolling, elements that leave the viewport, and text wider
// or taller than its box (a clipped button label, a heading running out
// of the card). Scrollable boxes and hidden elements are left alone.
const LayoutProblems = `(() => {
  const out = [], vw = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    " «" + (el.innerText || el.value || "").trim().slice(0, 40) + "»";
  if (document.documentElement.scrollWidth > vw) {
    out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " > " + vw);
  }
  for (const el of document.querySelectorAll("body *")) {
    const cs = getComputedStyle(el);
    if (cs.display === "none" || cs.visibility === "hidden" || el.closest(".visually-hidden")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 1 || r.left < -1) out.push(name(el) + " leaves the viewport (" + Math.round(r.left) + ".." + Math.round(r.right) + ")");
    if (["INPUT", "TEXTAREA", "SELECT", "IMG", "svg"].includes(el.tagName)) continue;
    const scrolls = v => v === "auto" || v === "scroll";
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && !scrolls(cs.overflowX)) out.push(name(el) + " clips or spills its text sideways");
    if (el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 && cs.overflowY === "hidden") out.push(name(el) + " clips its text");
  }
  return out.join("\n");
})()`

// checkLayout fails when the page in the tab does not fit.
func checkLayout(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[string](LayoutProblems))
	if err != nil {
		t.Fatalf("%s: layout check: %v", what, err)
	}
	if problems != "" {
		t.Errorf("%s does not fit:\n%s", what, problems)
	}
}

// TestBrowserJapaneseLayout opens the Japanese sign-in page (with its
// error), consent page, an error page, the sign-out confirmation and the
// signed-out page in headless Chromium at 390 px (a phone) and 1280 px,
// and fails on horizontal overflow or clipped text. Screenshots go to a
// temporary folder named in the log.
func TestBrowserJapaneseLayout(t *testing.T) {
	ctx := newChromium(t)
	shots, err := os.MkdirTemp("", "monban-ja-layout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the Japanese pages: %s", shots)
	e := newEnv(t, false)
	e.srvMux().HandleFunc("GET /test-logout", func(w http.ResponseWriter, r *http.Request) {
		cl, _ := e.store.GetClient(r.Context(), "app")
		e.h.ConfirmLogout(w, r, cl, "", "st")
	})
	// A long client name, as real ones are.
	cl, err := e.store.GetClient(context.Background(), "app")
	e.must(err)
	cl.Name = "株式会社サンプル 社員ポータル（ExampleCorp Employee Portal）"
	e.must(e.store.UpdateClient(context.Background(), cl))
	e.onCallback = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, e.h.ConsentURL(r.URL.Query().Get("id")), http.StatusFound)
	}
	ja := func(r *storage.AuthRequest) {
		r.UILocales = []string{"ja"}
		r.Scopes = []string{"openid", "profile", "email", "offline_access", "custom:read"}
	}
	// Pages without a request (errors, sign-out) speak the switch's pick;
	// Chromium itself asks for English.
	do(t, ctx, "pick Japanese", chromedp.Navigate(e.srv.URL+"/lang?lang=ja&next=/logged-out"), chromedp.WaitVisible(chromedp.CSS("h1")))
	selfCheckLayout(t, ctx)
	for _, width := range []int64{390, 1280} {
		shot := func(name string) {
			browsertest.Screenshot(t, ctx, shots, fmt.Sprintf("%s-%d.png", name, width))
			if lang, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang")); err != nil || lang != "ja" {
				t.Errorf("%s: <html lang=%q> (%v), want ja", name, lang, err)
			}
			checkLayout(t, ctx, fmt.Sprintf("%s at %d px", name, width))
		}
		id := e.newRequest(ja)
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, 844))
		do(t, ctx, "open Japanese sign-in page",
			chromedp.Navigate(e.srv.URL+e.h.LoginURL(id)),
			chromedp.WaitVisible(chromedp.ID("username")),
		)
		shot("login")
		do(t, ctx, "wrong password",
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "wrong"),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("login-error")),
		)
		shot("login-error")
		do(t, ctx, "right password",
			chromedp.SetValue(chromedp.ID("password"), alicePassword),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
		)
		shot("consent")
		do(t, ctx, "open error page", chromedp.Navigate(e.srv.URL+e.h.LoginURL("expired")),
			chromedp.WaitVisible(chromedp.CSS("h1")))
		shot("error")
		do(t, ctx, "open sign-out confirmation", chromedp.Navigate(e.srv.URL+"/test-logout"), chromedp.WaitVisible(chromedp.CSS("h1")))
		shot("logout")
	}
}

// selfCheckLayout shows that the layout check sees a clipped label and a
// page that scrolls sideways, so a passing check means something.
func selfCheckLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const b = document.createElement("button");
		b.style.width = "40px"; b.style.whiteSpace = "nowrap"; b.textContent = "とても長いボタンのラベルです";
		document.querySelector("main").append(b);
		const d = document.createElement("div");
		d.style.width = "3000px"; d.textContent = "x";
		document.body.append(d);
		const got = `+LayoutProblems+`;
		b.remove(); d.remove();
		return got;
	})()`))
	if err != nil || !strings.Contains(problems, "clips or spills") || !strings.Contains(problems, "scrolls sideways") {
		t.Fatalf("the layout check misses planted problems: %q, %v", problems, err)
	}
}
