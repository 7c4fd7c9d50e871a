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
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/browsertest"
)

// TestBrowserJapaneseLayout opens the Japanese sign-in page (with its
// error), consent page, account page, an error page, the sign-out confirmation and the
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
	e := newEnv(t, false, withMail, withRegistration)
	e.srvMux().HandleFunc("GET /test-logout", func(w http.ResponseWriter, r *http.Request) {
		cl, _ := e.store.GetClient(r.Context(), "app")
		e.h.ConfirmLogout(w, r, cl, "", "st")
	})
	// A long client name, as real ones are.
	_, err = e.store.UpdateClient(context.Background(), "app", func(cl *storage.Client) error {
		cl.Name = "株式会社サンプル 社員ポータル（ExampleCorp Employee Portal）"
		return nil
	})
	e.must(err)
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
			browsertest.CheckLayout(t, ctx, fmt.Sprintf("%s at %d px", name, width))
		}
		id := e.newRequest(ja)
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, 844))
		do(t, ctx, "open Japanese sign-in page",
			chromedp.Navigate(e.srv.URL+e.h.SignInURL(id)),
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
		do(t, ctx, "open the account page (prompt=select_account)",
			chromedp.Navigate(e.srv.URL+e.h.SelectAccountURL(e.newRequest(ja))),
			chromedp.WaitVisible(chromedp.CSS(`button[value="another"]`)),
		)
		shot("select-account")
		// The second factor (issue 17): the enrolment a request needing
		// multi-factor shows after the password, and the security page.
		fid := e.newRequest(ja, func(r *storage.AuthRequest) { r.ACR = acr.MFA })
		do(t, ctx, "sign in to a request needing a second factor",
			chromedp.Navigate(e.srv.URL+e.h.SignInURL(fid)),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SetValue(chromedp.ID("username"), "alice"),
			chromedp.SetValue(chromedp.ID("password"), alicePassword),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("totp-secret")),
		)
		shot("factor-enrol")
		do(t, ctx, "open the security page", chromedp.Navigate(e.srv.URL+securityPath),
			chromedp.WaitVisible(chromedp.ID("totp-status")))
		shot("security")
		do(t, ctx, "open the account page", chromedp.Navigate(e.srv.URL+accountPath),
			chromedp.WaitVisible(chromedp.ID("sessions")))
		shot("account")
		do(t, ctx, "refuse a profile value", chromedp.SetValue(chromedp.ID("website"), "javascript:x"),
			chromedp.Submit(chromedp.ID("website")), chromedp.WaitVisible(chromedp.ID("account-error")))
		shot("account-error")
		do(t, ctx, "open a wrong verification link", chromedp.Navigate(e.srv.URL+VerifyPath+"?token=wrong"),
			chromedp.WaitVisible(chromedp.CSS("h1")))
		shot("verify-invalid")
		do(t, ctx, "open the registration page", chromedp.Navigate(e.srv.URL+RegisterPath),
			chromedp.WaitVisible(chromedp.ID("confirm")))
		shot("register")
		do(t, ctx, "open error page", chromedp.Navigate(e.srv.URL+e.h.SignInURL("expired")),
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
		const got = `+browsertest.LayoutProblems+`;
		b.remove(); d.remove();
		return got;
	})()`))
	if err != nil || !strings.Contains(problems, "clips or spills") || !strings.Contains(problems, "scrolls sideways") {
		t.Fatalf("the layout check misses planted problems: %q, %v", problems, err)
	}
}
