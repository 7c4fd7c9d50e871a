package main

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/admin"
)

var signInAgainRE = regexp.MustCompile(`href="(/admin/signin\?[^"]+)"`)

// TestAdminFreshSignInResumes is issue #13 item 19 end to end: a secret
// rotation from a sign-in older than the fresh-auth window offers "sign
// in again"; the sign-in form comes with the username filled in, and
// after the password the browser is back at the rotation's confirmation,
// whose form then rotates the secret.
func TestAdminFreshSignInResumes(t *testing.T) {
	p := newTestServer(t)
	root := p.addUser(t, "root", "admin password 1")
	if _, err := p.Store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	p.addClient(t, storage.Client{ID: "shop", Name: "Shop", RedirectURIs: []string{"https://rp.example/cb"}})
	b := newBrowser(t, p.URL)
	resp, body := b.visit(p.URL + "/admin")
	b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"})

	p.Clock.Advance(admin.DefaultFreshAuth + op.DefaultCodeTTL)
	resp, body = b.visit(p.URL + "/admin/clients/shop/rotate-secret")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Rotate the secret of shop?") {
		t.Fatalf("confirmation: %d\n%.1500s", resp.StatusCode, body)
	}
	resp, body = b.submit(resp, body, nil)
	m := signInAgainRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusForbidden || m == nil {
		t.Fatalf("stale rotation: %d, want 403 with sign in again\n%.1500s", resp.StatusCode, body)
	}
	resp, body = b.visit(p.URL + html.UnescapeString(m[1]))
	if resp.Request.URL.Path != "/login" || !strings.Contains(body, `value="root"`) {
		t.Fatalf("sign in again: %s, want the sign-in form with root filled in\n%.1500s", resp.Request.URL, body)
	}
	resp, body = b.submit(resp, body, map[string]string{"password": "admin password 1"})
	if resp.Request.URL.Path != "/admin/clients/shop/rotate-secret" {
		t.Fatalf("after signing in again: %d at %s, want the rotation's confirmation", resp.StatusCode, resp.Request.URL)
	}
	resp, body = b.submit(resp, body, nil)
	if resp.StatusCode != http.StatusOK || !secretRE.MatchString(body) {
		t.Fatalf("rotation after the fresh sign-in: %d\n%.1500s", resp.StatusCode, body)
	}
}
