package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

var secretRE = regexp.MustCompile(`id="client_secret" name="client_secret" value="([^"]+)"`)

// TestAdminConsoleRegistersClient: an administrator opens /admin, is sent
// through the ordinary sign-in (the console's internal client), registers
// a web application with the console's form, reads its secret once, and
// that client then completes an authorization-code flow.
func TestAdminConsoleRegistersClient(t *testing.T) {
	p := newTestServer(t)
	root := p.addUser(t, "root", "admin password 1")
	if _, err := p.Store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, p.URL)

	resp, body := b.visit(p.URL + "/admin")
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("/admin without a session ended at %s, want the sign-in page", resp.Request.URL)
	}
	resp, body = b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/admin" || !strings.Contains(body, "Overview") {
		t.Fatalf("after sign-in: %d %s, want the overview", resp.StatusCode, resp.Request.URL)
	}

	resp, body = b.visit(p.URL + "/admin/clients/new")
	const redirect = "https://rp.example/cb"
	resp, body = b.submit(resp, body, map[string]string{
		"type": "web", "id": "shop", "name": "Shop", "redirect_uris": redirect, "scopes": "openid profile email",
	})
	m := secretRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create client: %d, no secret shown:\n%.2000s", resp.StatusCode, body)
	}
	secret := m[1]
	if _, again := b.visit(p.URL + "/admin/clients/shop"); strings.Contains(again, secret) {
		t.Fatal("the client page shows the secret again")
	}

	rp := newRP(t, p.URL, "shop", secret, redirect)
	f := rp.start()
	resp, body = b.visit(f.URL) // signed in already: at most the consent page
	if resp.Request.URL.Path == "/consent" {
		resp, _ = b.submit(resp, body, map[string]string{"action": "approve"})
	}
	q := rp.callbackParams(resp, f, p.URL)
	tok, err := rp.exchange(q.Get("code"), f)
	if err != nil {
		t.Fatalf("exchange with the console-issued secret: %v", err)
	}
	if tok.idToken.Subject != root.ID {
		t.Errorf("sub = %q, want %q", tok.idToken.Subject, root.ID)
	}
}

// TestAdminConsoleRejectsBadRedirect: the console refuses what the CLI
// refuses, and says so next to the field.
func TestAdminConsoleRejectsBadRedirect(t *testing.T) {
	p := newTestServer(t)
	root := p.addUser(t, "root", "admin password 1")
	if _, err := p.Store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, p.URL)
	resp, body := b.visit(p.URL + "/admin/clients/new")
	resp, _ = b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"})
	resp, body = b.visit(p.URL + "/admin/clients/new")
	cases := []struct {
		name, uri, want string
	}{
		{"wildcard", "https://rp.example/*", "must not contain wildcards"},
		{"plain http", "http://rp.example/cb", "must use https"},
		{"fragment", "https://rp.example/cb#x", "must not contain a fragment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, got := b.submit(resp, body, map[string]string{"type": "web", "id": "bad", "name": "Bad", "redirect_uris": tc.uri, "scopes": "openid"})
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, tc.want) || !strings.Contains(got, `class="field-error"`) {
				t.Errorf("status %d; want 422 with %q next to the field", r.StatusCode, tc.want)
			}
		})
	}
	if _, err := p.Store.GetClient(t.Context(), "bad"); err == nil {
		t.Error("a refused client was stored")
	}
}
