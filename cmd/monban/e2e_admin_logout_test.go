package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// TestAdminForcedLogout is issue #7's "must show" 3, on both stores: "log
// out everywhere" from the console makes a participating client's
// back-channel receiver get a logout token, and its refresh token (an
// offline_access one, which would survive a plain logout) answers
// invalid_grant.
func TestAdminForcedLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		root := fx.p.addUser(t, "root", "admin password 1")
		if _, err := store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
			t.Fatal(err)
		}
		alice, err := store.GetUserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		// Alice signs in to app-a with offline access.
		br := newBrowser(t, fx.p.URL)
		a := fx.signIn(t, br, fx.a, oauth2.SetAuthURLParam("scope", "openid offline_access"))
		if a.token.RefreshToken == "" {
			t.Fatal("no refresh token")
		}

		// An administrator signs in to the console in another browser and
		// presses "Log out everywhere" on alice's page.
		adm := newBrowser(t, fx.p.URL)
		page, body := adm.visit(fx.p.URL + "/admin")
		page, body = adm.submit(page, body, map[string]string{"username": "root", "password": "admin password 1"})
		if page.Request.URL.Path != "/admin" {
			t.Fatalf("console sign-in ended at %s", page.Request.URL)
		}
		userPage := fx.p.URL + "/admin/users/" + url.PathEscape(alice.ID)
		page, body = adm.visit(userPage)
		if !strings.Contains(body, "Log out everywhere") {
			t.Fatalf("no logout button on %s:\n%.1500s", page.Request.URL, body)
		}
		_, fields := parseForm(t, body)
		resp, err := adm.client.PostForm(userPage+"/logout-everywhere", url.Values{"csrf_token": {fields.Get("csrf_token")}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.String(), "saved=1") {
			t.Fatalf("log out everywhere: %d at %s", resp.StatusCode, resp.Request.URL)
		}

		step(t, fx.p, 1, 0) // one client served the session: one logout token
		fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a})
		if _, err := fx.a.refresh(a.token.RefreshToken); grantError(err) != "invalid_grant" {
			t.Fatalf("refresh after forced logout: %v, want invalid_grant", err)
		}
		fx.assertDead(t, "app-a", a.token.AccessToken)

		// The change is in the audit trail.
		entries, err := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Action == "user.logout_everywhere" && e.ActorID == root.ID)
		}
		if !found {
			t.Fatalf("no audit entry for the forced logout: %+v", entries)
		}
	})
}
