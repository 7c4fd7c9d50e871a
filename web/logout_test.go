package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

// recordingEnder wraps the test store: it records every session the
// session owner revokes, and can fail that write.
type recordingEnder struct {
	storage.Store
	mu    sync.Mutex
	ended []string
	fail  bool
}

func (r *recordingEnder) RevokeSession(ctx context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("injected failure")
	}
	r.ended = append(r.ended, id)
	return r.Store.RevokeSession(ctx, id, at)
}

func (r *recordingEnder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ended...)
}

// logoutEnv is a testEnv whose store records the sessions ended, with the
// app's post-logout URI registered and a stand-in for op's /end_session
// that shows the confirmation page.
func logoutEnv(t *testing.T, postLogout string) (*testEnv, *recordingEnder) {
	t.Helper()
	ender := &recordingEnder{Store: memoryStore()}
	e := newEnv(t, false, func(c *Config) { c.Store = ender })
	ctx := context.Background()
	_, err := e.store.UpdateClient(ctx, "app", func(cl *storage.Client) error {
		cl.PostLogoutRedirectURIs = []string{postLogout}
		return nil
	})
	e.must(err)
	e.srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /end_session", func(w http.ResponseWriter, r *http.Request) {
		c, _ := e.store.GetClient(r.Context(), "app")
		e.h.ConfirmLogout(w, r, c, postLogout, "st 1")
	})
	return e, ender
}

// logoutReason returns the Detail of the one logout audit entry, or "".
func (e *testEnv) logoutReason() string {
	e.t.Helper()
	all, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 100)
	e.must(err)
	for _, a := range all {
		if a.Action == storage.ActionLogout {
			return a.Detail
		}
	}
	return ""
}

// signedIn returns a browser with a session of alice.
func (e *testEnv) signedIn() *http.Client {
	e.t.Helper()
	c := e.browser()
	if p := e.login(c, e.newRequest(), "alice", alicePassword); p.status != http.StatusSeeOther {
		e.t.Fatalf("login: %d", p.status)
	}
	return c
}

// TestChecklistL4LogoutConfirmation: a logout without id_token_hint ends
// nothing until a same-origin form with a valid CSRF token confirms it
// (checklist L2, L4, S7, R3).
func TestChecklistL4LogoutConfirmation(t *testing.T) {
	const postLogout = "https://app.example/bye"
	for _, tc := range []struct {
		name       string
		form       func(url.Values)
		hdr        []string
		fail       bool
		wantStatus int
		wantEnded  bool
	}{
		{"L4/confirmed", nil, nil, false, http.StatusSeeOther, true},
		{"S7/missing-csrf-token", func(f url.Values) { f.Del(csrfField) }, nil, false, http.StatusForbidden, false},
		{"S7/cross-site", nil, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, false, http.StatusForbidden, false},
		{"L2/unregistered-uri", func(f url.Values) { f.Set("post_logout_redirect_uri", "https://evil.example/bye") }, nil, false, http.StatusBadRequest, false},
		{"L2/uri-of-unknown-client", func(f url.Values) { f.Set("client_id", "nope") }, nil, false, http.StatusBadRequest, false},
		{"B3/huge-state", func(f url.Values) { f.Set("state", strings.Repeat("s", 4096)) }, nil, false, http.StatusBadRequest, false},
		{"R3/end-session-fails-503", nil, nil, true, http.StatusServiceUnavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ender := logoutEnv(t, postLogout)
			ender.fail = tc.fail
			c := e.signedIn()
			page := e.get(c, "/end_session")
			if page.status != http.StatusOK || !strings.Contains(page.body, "Example App") ||
				!strings.Contains(page.header.Get("Content-Security-Policy"), "form-action 'self' https://app.example;") {
				t.Fatalf("confirmation page: %d CSP %q", page.status, page.header.Get("Content-Security-Policy"))
			}
			form := url.Values{csrfField: {csrf(t, page)}, "client_id": {"app"},
				"post_logout_redirect_uri": {postLogout}, "state": {"st 1"}}
			if tc.form != nil {
				tc.form(form)
			}
			got := e.post(c, "/logout", form, tc.hdr...)
			if got.status != tc.wantStatus {
				t.Fatalf("POST /logout: %d, want %d\n%s", got.status, tc.wantStatus, got.body)
			}
			if ended := len(ender.calls()) == 1; ended != tc.wantEnded {
				t.Fatalf("session ended: %v (%v), want %v", ended, ender.calls(), tc.wantEnded)
			}
			if !tc.wantEnded {
				if got.header.Get("Location") != "" || e.sessionCookie(c) == "" || strings.Contains(got.body, "injected") {
					t.Fatalf("a refused sign-out redirected, cleared the cookie or leaked an error")
				}
				return
			}
			if loc := got.header.Get("Location"); loc != postLogout+"?state=st+1" {
				t.Fatalf("redirected to %q", loc)
			}
			if e.sessionCookie(c) != "" || e.logoutReason() != session.ReasonLogout {
				t.Fatalf("cookie not cleared or wrong reason: %q", e.logoutReason())
			}
		})
	}
}

// TestBrowserLogoutConfirmation confirms a sign-out in headless Chromium:
// the form's 303 to the application's post-logout URI on another origin
// must pass CSP form-action.
func TestBrowserLogoutConfirmation(t *testing.T) {
	ctx := newChromium(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>App</title><h1 id="bye">Signed out of the app</h1><p>%s</p>`,
			html.EscapeString(r.URL.RawQuery))
	}))
	t.Cleanup(app.Close)
	e, ender := logoutEnv(t, app.URL+"/bye")
	e.onCallback = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>Callback</title><p id="signed-in">signed in</p>`)
	}
	id := e.newRequest()
	do(t, ctx, "sign in",
		chromedp.Navigate(e.srv.URL+e.h.SignInURL(id)),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	)
	do(t, ctx, "open the confirmation page",
		chromedp.Navigate(e.srv.URL+"/end_session"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`)),
	)
	screenshot(t, ctx, "logout-confirm.png")
	do(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("bye")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != app.URL+"/bye?state=st+1" {
		t.Fatalf("browser at %q (%v), want the post-logout URI with state", loc, err)
	}
	// The 303 the browser followed was written after the session ended.
	if len(ender.calls()) != 1 {
		t.Fatalf("session ended %d times, want 1", len(ender.calls()))
	}
}
