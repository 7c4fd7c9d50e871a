package main

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/browsertest"
)

// TestBrowserPasskey is issue 17's passkey "must show" in headless
// Chromium with a virtual authenticator (CDP WebAuthn domain; CTAP2,
// internal transport, resident keys, user verification): register a
// passkey at /account/security, sign out, sign in with only the passkey,
// get a code, and the ID token's amr has hwk and user and its acr is the
// phishing-resistant class. The provider is at http://localhost (an IP
// address cannot be a WebAuthn RP ID; localhost is a secure context).
func TestBrowserPasskey(t *testing.T) {
	ctx := browsertest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	p := newTestServer(t, withListener(ln), withIssuer(issuer))
	p.addUser(t, "alice", alicePassword)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><title>App</title><p id="query">%s</p>`, html.EscapeString(r.URL.RawQuery))
	}))
	t.Cleanup(app.Close)
	secret := p.addClient(t, storage.Client{ID: "app", Name: "App", RedirectURIs: []string{app.URL + "/cb"}})
	r := newRP(t, p.URL, "app", secret, app.URL+"/cb")

	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	codeFromApp := func(t *testing.T) string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("query")))
		if err != nil {
			t.Fatal(err)
		}
		q, err := url.ParseQuery(text)
		if err != nil || q.Get("code") == "" {
			t.Fatalf("no code at the app: %q", text)
		}
		return q.Get("code")
	}

	browsertest.Do(t, ctx, "sign in with the password",
		chromedp.Navigate(r.start().URL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("query")),
	)
	browsertest.Do(t, ctx, "register a passkey",
		chromedp.Navigate(p.URL+"/account/security"),
		chromedp.WaitVisible(chromedp.ID("passkey-name")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Test laptop"),
		chromedp.Click(chromedp.ID("passkey-add")),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
	)
	users, err := p.Store.ListWebAuthnCredentials(t.Context(), mustUserID(t, p, "alice"))
	if err != nil || len(users) != 1 || users[0].Name != "Test laptop" || users[0].BackupEligible {
		t.Fatalf("stored passkeys: %v %+v", err, users)
	}

	// Signing out: the browser forgets the session (a new browser on the
	// same device); the authenticator keeps the passkey.
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	f := r.start()
	browsertest.Do(t, ctx, "sign in with only the passkey",
		chromedp.Navigate(f.URL),
		chromedp.WaitVisible(chromedp.ID("query")),
	)
	tok, err := r.exchange(codeFromApp(t), f)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	amr := amrOf(tok)
	if tok.claims["acr"] != acr.PhishingResistant || !slices.Contains(amr, "hwk") || !slices.Contains(amr, "user") ||
		slices.Contains(amr, "pwd") {
		t.Fatalf("passkey sign-in: acr %v amr %v", tok.claims["acr"], amr)
	}
	used, err := p.Store.GetWebAuthnCredential(t.Context(), users[0].ID)
	if err != nil || used.LastUsedAt.IsZero() {
		t.Fatalf("the passkey's last use is not recorded: %v %+v", err, used)
	}
}

// mustUserID returns the ID of the user with this username.
func mustUserID(t *testing.T, p *testProvider, username string) string {
	t.Helper()
	u, err := p.Store.GetUserByUsername(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
