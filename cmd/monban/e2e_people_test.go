package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// peopleFixture is a provider over PostgreSQL that the CLI changes too,
// with alice, app-a and app-b (back-channel logout to a receiver).
type peopleFixture struct {
	*logoutFixture
	env   map[string]string
	store storage.Store
}

func newPeopleFixture(t *testing.T) *peopleFixture {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	rcv := newReceiver(t)
	p := newTestServer(t, withStore(store))
	registerLogoutClients(t, p, rcv)
	return &peopleFixture{logoutFixture: openLogoutFixture(t, p, rcv),
		// The test relying parties' back-channel receivers listen on
		// 127.0.0.1, a private address the CLI refuses by default.
		env: map[string]string{"MONBAN_DATABASE_URL": dsn, "MONBAN_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS": "true"}, store: store}
}

// TestGroupAccessRule is issue #15's group "must show": a client
// restricted to group staff refuses a non-member (a page for the person,
// access_denied for the client), lets the same person in once the CLI
// adds them, carries the groups claim (verified by go-oidc) in the ID
// token, UserInfo and introspection, and refuses the refresh token once
// the membership is removed.
func TestGroupAccessRule(t *testing.T) {
	fx := newPeopleFixture(t)
	mustRun(t, fx.env, "", "group", "add", "staff")
	mustRun(t, fx.env, "", "client", "update", "app-a", "--allowed-group", "staff",
		"--scope", "openid profile email offline_access groups")
	app := newRP(t, fx.p.URL, "app-a", secretOf("app-a"), redirectA, "openid", "profile", "groups")
	br := newBrowser(t, fx.p.URL)

	// A non-member signs in: the refusal page, and access_denied for the
	// client through the page's Refresh header.
	f := app.start()
	page, body := br.visit(f.URL)
	resp, body := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "You do not have access to this application") {
		t.Fatalf("non-member: %d at %s, want the 403 refusal page:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	delay, target, ok := strings.Cut(resp.Header.Get("Refresh"), "; url=")
	if !ok || delay == "" {
		t.Fatalf("refusal page Refresh header %q: want a delay and a url", resp.Header.Get("Refresh"))
	}
	back, err := url.Parse(target)
	if err != nil || !strings.HasPrefix(target, redirectA+"?") {
		t.Fatalf("refusal sends the browser to %q, want %s", target, redirectA)
	}
	q := back.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Get("iss") != fx.p.URL || q.Get("code") != "" {
		t.Fatalf("the client gets %v, want access_denied with its state and iss", q)
	}

	// Added by the CLI: the same person (same session) gets a code.
	mustRun(t, fx.env, "", "group", "add-member", "staff", "alice")
	tok := fx.silent(t, br, app)
	if got := fmt.Sprint(tok.claims["groups"]); got != "[staff]" {
		t.Errorf("ID token groups claim = %s, want [staff]", got)
	}
	info, err := app.provider.UserInfo(app.ctx, oauth2.StaticTokenSource(tok.token))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims struct {
		Groups []string `json:"groups"`
	}
	if err := info.Claims(&claims); err != nil || fmt.Sprint(claims.Groups) != "[staff]" {
		t.Errorf("userinfo groups = %v (%v), want [staff]", claims.Groups, err)
	}
	if got := fmt.Sprint(fx.introspect(t, "app-a", tok.token.AccessToken)["groups"]); got != "[staff]" {
		t.Errorf("introspection groups = %s, want [staff]", got)
	}
	// A client that did not ask for the groups scope gets no groups claim.
	other := fx.silent(t, br, fx.b)
	if _, has := other.claims["groups"]; has {
		t.Errorf("app-b got a groups claim without the groups scope: %v", other.claims)
	}

	// Removed: the refresh token is refused at once.
	if _, err := app.refresh(tok.token.RefreshToken); err != nil {
		t.Fatalf("refresh while a member: %v", err)
	}
	mustRun(t, fx.env, "", "group", "remove-member", "staff", "alice")
	if _, err := app.refresh(tok.token.RefreshToken); grantError(err) != "invalid_grant" {
		t.Errorf("refresh after removal: %v, want invalid_grant", err)
	}
	// And a new sign-in is refused again, silently for prompt=none.
	if got := fx.promptNone(t, br, app); got != "access_denied" {
		t.Errorf("prompt=none after removal: %q, want access_denied", got)
	}

	// The group changes are in the audit trail.
	entries, err := fx.store.ListAudit(t.Context(), storage.AuditFilter{Actions: []string{"group"}}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "group.remove_member group.add_member group.create" {
		t.Errorf("audit actions %q", got)
	}
	// The rule names staff: deleting the group is refused.
	if r := runCLI(t, fx.env, "", "group", "delete", "staff"); r.code == 0 || !strings.Contains(r.stderr, "allowed-group") {
		t.Errorf("group delete while a rule names it: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestUserDelete is issue #15's deletion "must show": live tokens become
// inactive at introspection and UserInfo, every application gets its
// back-channel logout token, the audit trail keeps the deletion, and the
// last administrator cannot be deleted or lose the role.
func TestUserDelete(t *testing.T) {
	fx := newPeopleFixture(t)
	mustRun(t, fx.env, "root password for the tests, long enough\n", "user", "add", "--username", "root", "--admin", "--password-stdin")
	for _, sub := range []string{"delete", "revoke-admin"} {
		r := runCLI(t, fx.env, "", "user", sub, "root")
		if r.code == 0 || !strings.Contains(r.stderr, "last enabled administrator") {
			t.Errorf("user %s of the last admin: exit %d, stderr %q", sub, r.code, r.stderr)
		}
	}

	br := newBrowser(t, fx.p.URL)
	a := fx.signIn(t, br, fx.a)
	b := fx.silent(t, br, fx.b, oauth2.SetAuthURLParam("scope", "openid offline_access"))
	alice, err := fx.store.GetUserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, fx.env, "", "user", "delete", "alice")
	if r.stdout != "Deleted user \"alice\"; signed out 1 session(s).\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	fx.assertDead(t, "app-a", a.token.AccessToken)
	fx.assertDead(t, "app-b", b.token.AccessToken)
	if _, err := fx.b.refresh(b.token.RefreshToken); grantError(err) != "invalid_grant" {
		t.Errorf("offline refresh after delete: %v", err)
	}
	fx.p.Clock.Advance(time.Minute) // the CLI stamped the deliveries with the wall clock
	step(t, fx.p, 2, 0)
	fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a, "app-b": b})

	entries, err := fx.store.ListAudit(t.Context(), storage.AuditFilter{Actions: []string{"user.delete"}}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Target != "user:"+alice.ID || !strings.Contains(entries[0].Before, `"username":"alice"`) ||
		strings.Contains(entries[0].Before, "argon2") {
		t.Errorf("audit entries for the deletion: %+v", entries)
	}
	if r := runCLI(t, fx.env, "", "user", "show", "alice"); r.code == 0 {
		t.Errorf("user show after delete: exit 0")
	}
}
