package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/browsertest"
)

// artifactDir receives screenshots; it is gitignored.
const artifactDir = "testdata/artifacts"

// newChromium starts headless Chromium for a test (see browsertest.Start).
func newChromium(t *testing.T) context.Context { return browsertest.Start(t) }

// do runs browser steps with a timeout of their own (browsertest.Do).
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, step, actions...)
}

// screenshot saves a test artifact under artifactDir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, artifactDir, name)
}

// TestBrowserSignIn signs in with real headless Chromium: wrong password
// first, then the right one; the browser must follow 303 → callback →
// redirect_uri on another origin (which CSP form-action must allow). Then
// it answers a consent page the same way.
func TestBrowserSignIn(t *testing.T) {
	ctx := newChromium(t)
	e := newEnv(t, false)

	// The application lives on another origin.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>App</title><h1 id="app-done">Signed in to the app</h1><p id="code">%s</p>`,
			html.EscapeString(r.URL.RawQuery))
	}))
	t.Cleanup(app.Close)
	ctxb := context.Background()
	_, err := e.store.UpdateClient(ctxb, "app", func(cl *storage.Client) error {
		cl.RedirectURIs = []string{app.URL + "/cb"}
		return nil
	})
	e.must(err)
	// A stand-in for op's callback: redirect to the application.
	e.onCallback = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, app.URL+"/cb?code=fake&state=st&id="+r.URL.Query().Get("id"), http.StatusFound)
	}
	withApp := func(r *storage.AuthRequest) {
		r.RedirectURI = app.URL + "/cb"
		r.Scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	id := e.newRequest(withApp)

	// Sign-in page, then a wrong password.
	do(t, ctx, "open login page",
		chromedp.Navigate(e.srv.URL+e.h.SignInURL(id)),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	screenshot(t, ctx, "login.png")
	do(t, ctx, "wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "not my password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("login-error")),
	)
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("login-error")))
	if err != nil || msg != "Incorrect username or password." {
		t.Fatalf("error text = %q, %v", msg, err)
	}
	screenshot(t, ctx, "login-error.png")

	// The right password: the username is still filled in.
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("app-done")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if want := app.URL + "/cb?code=fake&state=st&id=" + id; loc != want {
		t.Errorf("browser at %q, want %q", loc, want)
	}
	if n := e.callbacks.Load(); n != 1 {
		t.Errorf("callback reached %d times, want 1", n)
	}
	ar := e.authRequest(id)
	if ar.UserID != "u-alice" || ar.SessionID == "" {
		t.Fatalf("auth request not authenticated: %+v", ar)
	}

	// Consent for a second request of the same browser session.
	id2 := e.newRequest(withApp)
	e.must(e.store.AuthenticateAuthRequest(ctxb, id2, storage.AuthResult{
		UserID: ar.UserID, SessionID: ar.SessionID, AuthTime: ar.AuthTime, AMR: ar.AMR,
	}))
	do(t, ctx, "open consent page",
		chromedp.Navigate(e.srv.URL+e.h.ConsentURL(id2)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)),
	)
	screenshot(t, ctx, "consent.png")
	do(t, ctx, "approve",
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.ID("app-done")),
	)
	if !e.authRequest(id2).ConsentGranted {
		t.Error("consent not recorded")
	}

	// The sign-in page on a phone-sized screen.
	do(t, ctx, "phone layout",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(e.srv.URL+e.h.SignInURL(e.newRequest(withApp))),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	screenshot(t, ctx, "login-phone.png")
	do(t, ctx, "open logged-out page", chromedp.Navigate(e.srv.URL+"/logged-out"))
	screenshot(t, ctx, "logged-out-phone.png")
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil || !strings.Contains(body, "signed out") {
		t.Errorf("logged-out page heading = %q, %v", body, err)
	}
	do(t, ctx, "open expired request", chromedp.Navigate(e.srv.URL+e.h.SignInURL("expired")))
	screenshot(t, ctx, "error-phone.png")
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(body, en(expiredDetail)) {
		t.Errorf("error page text = %q, %v", body, err)
	}

	// Dark mode, for a look at the contrast.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	do(t, ctx, "open login page in dark mode",
		chromedp.Navigate(e.srv.URL+e.h.SignInURL(e.newRequest(withApp))),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	screenshot(t, ctx, "login-phone-dark.png")
}
