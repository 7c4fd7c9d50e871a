package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestDemoApps drives the two demo apps of `monban demo` with a browser
// that follows every redirect: sign in to one, the other signs in with no
// password form, signing out of the first ends the provider session and,
// through back-channel logout, the second app's session too.
func TestDemoApps(t *testing.T) {
	p := newTestServer(t)
	p.addUser(t, "alice", alicePassword)
	var bases [2]string
	var apps [2]*httptest.Server
	for i, name := range []string{"demo-one", "demo-two"} {
		srv := httptest.NewUnstartedServer(nil)
		base := "http://" + srv.Listener.Addr().String()
		secret := p.addClient(t, storage.Client{ID: name, Name: name, RedirectURIs: []string{base + "/callback"},
			PostLogoutRedirectURIs: []string{base + "/"}, BackchannelLogoutURI: base + "/backchannel-logout",
			Scopes: []string{"openid", "profile", "email", "offline_access"}})
		rp, err := newDemoRP(t.Context(), name, p.URL, base, name, secret)
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = rp.handler()
		srv.Start()
		t.Cleanup(srv.Close)
		bases[i], apps[i] = base, srv
	}
	jar, _ := cookiejar.New(nil)
	br := &http.Client{Jar: jar}
	get := func(u string) (*http.Response, string) {
		resp, err := br.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	post := func(u string) string {
		resp, err := br.Post(u, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	page, body := get(bases[0] + "/login")
	if !strings.Contains(body, `name="password"`) {
		t.Fatalf("want the provider's login form, got %s", page.Request.URL)
	}
	_, fields := parseForm(t, body)
	fields.Set("username", "alice")
	fields.Set("password", alicePassword)
	resp, err := br.PostForm(page.Request.URL.String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Signed in") || !strings.Contains(string(b), "alice@example.com") {
		t.Fatalf("app one after sign-in:\n%s", b)
	}
	if _, body := get(bases[1] + "/login"); !strings.Contains(body, "Signed in") {
		t.Fatalf("app two did not sign in silently:\n%s", body)
	}
	if body := post(bases[1] + "/refresh"); !strings.Contains(body, "Signed in") {
		t.Fatalf("refresh in app two:\n%s", body)
	}
	if body := post(bases[0] + "/logout"); !strings.Contains(body, "not signed in") {
		t.Fatalf("app one after sign-out:\n%s", body)
	}
	step(t, p, 2, 0) // logout tokens to both apps
	if _, body := get(bases[1] + "/"); !strings.Contains(body, "not signed in") {
		t.Fatalf("app two still signed in after single logout:\n%s", body)
	}
}
