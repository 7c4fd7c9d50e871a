package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/monban-idp/monban/storage"
)

// artifactDir receives screenshots; it is gitignored.
const artifactDir = "testdata/artifacts"

// newChromium starts headless Chromium for a test. Without the browser the
// test fails, unless MONBAN_SKIP_BROWSER_TESTS=1.
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
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
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
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// do runs browser steps with a timeout of their own, so a stuck page fails
// the test quickly with the step's name.
func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (browser at %s)", step, err, loc)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifactDir, name)
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: web/%s", file)
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
	cl, err := e.store.GetClient(ctxb, "app")
	e.must(err)
	cl.RedirectURIs = []string{app.URL + "/cb"}
	e.must(e.store.UpdateClient(ctxb, cl))
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
		chromedp.Navigate(e.srv.URL+e.h.LoginURL(id)),
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
		chromedp.Navigate(e.srv.URL+e.h.LoginURL(e.newRequest(withApp))),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	screenshot(t, ctx, "login-phone.png")
	do(t, ctx, "open logged-out page", chromedp.Navigate(e.srv.URL+"/logged-out"))
	screenshot(t, ctx, "logged-out-phone.png")
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil || !strings.Contains(body, "signed out") {
		t.Errorf("logged-out page heading = %q, %v", body, err)
	}
	do(t, ctx, "open expired request", chromedp.Navigate(e.srv.URL+e.h.LoginURL("expired")))
	screenshot(t, ctx, "error-phone.png")
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(body, expiredDetail) {
		t.Errorf("error page text = %q, %v", body, err)
	}

	// Dark mode, for a look at the contrast.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	do(t, ctx, "open login page in dark mode",
		chromedp.Navigate(e.srv.URL+e.h.LoginURL(e.newRequest(withApp))),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	screenshot(t, ctx, "login-phone-dark.png")
}
