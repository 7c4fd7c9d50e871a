package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestEditUser saves the standard claims through the edit form, refuses
// bad values next to their fields, and writes one audit entry.
func TestEditUser(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf_token": {e.csrf(c)}, "username": {"bob"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name      string
		form      url.Values
		status    int
		wantInErr string // the field whose error the page ties to it
	}{
		{"bad birth date", form("birthdate", "soon"), http.StatusUnprocessableEntity, `aria-describedby="birthdate-hint birthdate-error"`},
		{"bad picture", form("picture", "javascript:alert(1)"), http.StatusUnprocessableEntity, `aria-describedby="picture-error"`},
		{"bad e-mail", form("email", "not an address"), http.StatusUnprocessableEntity, `aria-describedby="email-error"`},
		{"username taken", form("username", "root"), http.StatusConflict, `aria-describedby="username-error"`},
		{"saved", form("email", "bob@example.com", "email_verified", "1", "given_name", "Bob", "family_name", "Builder",
			"locale", "en-GB", "zoneinfo", "Europe/London", "phone_number", "+441234567890", "address_country", "UK"),
			http.StatusSeeOther, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(c, "POST", "/admin/users/u-bob", tc.form)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d\n%.600s", p.status, tc.status, p.body)
			}
			if tc.wantInErr != "" && !strings.Contains(p.body, tc.wantInErr) {
				t.Errorf("page lacks %s", tc.wantInErr)
			}
		})
	}
	u, err := e.store.GetUser(context.Background(), "u-bob")
	e.must(err)
	if !u.EmailVerified || u.Email != "bob@example.com" || u.GivenName != "Bob" || u.Locale != "en-GB" ||
		u.PhoneNumber != "+441234567890" || u.Address.Country != "UK" || u.PasswordHash != "plain:pw" {
		t.Errorf("saved user: %+v", u)
	}
	entries, err := e.store.ListAudit(context.Background(), storage.AuditFilter{Actions: []string{"user.update"}}, 0, 10)
	e.must(err)
	if len(entries) != 1 || !strings.Contains(entries[0].After, `"EmailVerified":true`) || strings.Contains(entries[0].After, "plain:pw") {
		t.Errorf("audit entries of the edit: %+v", entries)
	}
}

// TestDeleteUserAndLastAdmin deletes a user after a confirmation page
// (sessions ended, audit entry), and keeps an enabled administrator.
func TestDeleteUserAndLastAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.browser("u-admin")
	if p := e.do(c, "GET", "/admin/users/u-bob/delete", nil); p.status != http.StatusOK || !strings.Contains(p.body, `action="/admin/users/u-bob/delete"`) {
		t.Fatalf("confirmation page: %d", p.status)
	}
	if p := e.do(c, "POST", "/admin/users/u-bob/delete", url.Values{"csrf_token": {e.csrf(c)}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %.400s", p.status, p.body)
	}
	if _, err := e.store.GetUser(ctx, "u-bob"); err == nil {
		t.Error("bob still exists")
	}
	if entries, _ := e.store.ListAudit(ctx, storage.AuditFilter{Actions: []string{"user.delete"}}, 0, 10); len(entries) != 1 ||
		entries[0].Target != "user:u-bob" {
		t.Errorf("audit of the deletion: %+v", entries)
	}

	// Revoking another administrator is allowed while one stays. The
	// last enabled administrator can only be the acting one, whom the
	// own-account rule already protects; the guard inside the transaction
	// covers two administrators demoting each other at once.
	now := e.clock.Now()
	e.must(e.store.CreateUser(ctx, &storage.User{ID: "u-ops", Username: "ops", PasswordHash: "plain:pw", Admin: true, CreatedAt: now, UpdatedAt: now}))
	if p := e.do(c, "POST", "/admin/users/u-ops/admin", url.Values{"csrf_token": {e.csrf(c)}, "admin": {"0"}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke ops while root is admin: %d", p.status)
	}
	for _, path := range []string{"/admin/users/u-admin/delete", "/admin/users/u-admin/admin", "/admin/users/u-admin/disable"} {
		if p := e.do(c, "POST", path, url.Values{"csrf_token": {e.csrf(c)}, "admin": {"0"}, "disabled": {"1"}}); p.status != http.StatusBadRequest {
			t.Errorf("%s on the acting administrator: %d, want 400", path, p.status)
		}
	}
	if u, _ := e.store.GetUser(ctx, "u-admin"); u == nil || !u.Admin || u.Disabled {
		t.Errorf("root after the refused changes: %+v", u)
	}
}

// TestGroups creates a group, adds and removes a member, renames it,
// refuses to delete it while a client's rule names it, then deletes it.
func TestGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.browser("u-admin")
	post := func(path string, kv ...string) page {
		v := url.Values{"csrf_token": {e.csrf(c)}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return e.do(c, "POST", path, v)
	}
	p := post("/admin/groups", "name", "ops")
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %.400s", p.status, p.body)
	}
	g, err := e.store.GetGroupByName(ctx, "ops")
	e.must(err)
	if p := post("/admin/groups", "name", "ops"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `aria-describedby="name-error"`) {
		t.Errorf("duplicate name: %d", p.status)
	}
	if p := post("/admin/groups/"+g.ID+"/members", "username", "nobody"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown member: %d", p.status)
	}
	if p := post("/admin/groups/"+g.ID+"/members", "username", "bob"); p.status != http.StatusSeeOther {
		t.Fatalf("add bob: %d", p.status)
	}
	if u, _ := e.store.GetUser(ctx, "u-bob"); strings.Join(u.Groups, ",") != "ops,staff" {
		t.Errorf("bob's groups: %v", u.Groups)
	}
	if p := e.do(c, "GET", "/admin/groups/"+g.ID, nil); !strings.Contains(p.body, `href="/admin/users/u-bob"`) {
		t.Error("the group page does not list bob")
	}
	if p := post("/admin/groups/" + g.ID + "/members/u-bob/remove"); p.status != http.StatusSeeOther {
		t.Fatalf("remove bob: %d", p.status)
	}
	if p := post("/admin/groups/"+g.ID, "name", "operators"); p.status != http.StatusSeeOther {
		t.Fatalf("rename: %d", p.status)
	}
	// A client rule naming a group that does not exist is refused next to
	// the field; one naming the group is saved and follows renames.
	clientForm := func(groups string) page {
		return post("/admin/clients/app", "name", "App", "redirect_uris", "https://app.example/cb", "grant", "authorization_code",
			"scopes", "openid", "allowed_groups", groups, "token_endpoint_auth_method", "client_secret_post")
	}
	if p := clientForm("nope"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "allowed_groups-error") {
		t.Errorf("rule with an unknown group: %d", p.status)
	}
	if p := clientForm("operators"); p.status != http.StatusSeeOther {
		t.Fatalf("rule: %d %.600s", p.status, p.body)
	}
	cl, err := e.store.GetClient(ctx, "app")
	e.must(err)
	if strings.Join(cl.AllowedGroups, ",") != "operators" || cl.AuthMethod != storage.AuthMethodPost {
		t.Errorf("client after the form: groups %v, method %s", cl.AllowedGroups, cl.AuthMethod)
	}
	if p := post("/admin/groups/" + g.ID + "/delete"); p.status != http.StatusConflict {
		t.Errorf("delete a group a rule names: %d", p.status)
	}
	if p := clientForm(""); p.status != http.StatusSeeOther {
		t.Fatalf("clear the rule: %d", p.status)
	}
	if p := post("/admin/groups/" + g.ID + "/delete"); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	entries, err := e.store.ListAudit(ctx, storage.AuditFilter{Actions: []string{"group"}}, 0, 10)
	e.must(err)
	var actions []string
	for _, a := range entries {
		actions = append(actions, a.Action)
	}
	slices.Sort(actions) // the test clock stands still: the entries share one time
	if got := strings.Join(actions, " "); got != "group.add_member group.create group.delete group.remove_member group.rename" {
		t.Errorf("audit of the group's life: %s", got)
	}
}
