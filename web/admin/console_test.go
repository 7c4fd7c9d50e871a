package admin_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/admin"
)

// TestConsoleSignOut: every console page links to the sign-out page; its
// form needs the CSRF token and ends the administrator's session.
func TestConsoleSignOut(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	if p := e.do(c, "GET", "/admin/clients", nil); !strings.Contains(p.body, `href="/admin/signout"`) {
		t.Fatalf("the console frame has no sign-out link:\n%.600s", p.body)
	}
	confirm := e.do(c, "GET", "/admin/signout", nil)
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `action="/admin/signout"`) {
		t.Fatalf("sign-out page: %d\n%.600s", confirm.status, confirm.body)
	}
	sessionOf := func() *storage.Session {
		ss, err := e.store.ListUserSessions(context.Background(), "u-admin")
		e.must(err)
		if len(ss) == 0 {
			return nil
		}
		return ss[0]
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantEnded  bool
	}{
		{"without CSRF token", url.Values{}, http.StatusForbidden, false},
		{"with CSRF token", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(confirm.body)[1]}}, http.StatusSeeOther, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.do(c, "POST", "/admin/signout", tt.form)
			if p.status != tt.wantStatus || (tt.wantEnded && p.loc != "/logged-out") {
				t.Fatalf("status %d to %q, want %d", p.status, p.loc, tt.wantStatus)
			}
			if ended := sessionOf() == nil; ended != tt.wantEnded {
				t.Fatalf("session ended = %v, want %v", ended, tt.wantEnded)
			}
		})
	}
	if p := e.do(c, "GET", "/admin", nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/admin/signin") {
		t.Errorf("after signing out, /admin = %d %q, want the sign-in", p.status, p.loc)
	}
}

// TestFreshSignInResumes: "sign in again" fills in the administrator's
// username (login_hint) and returns to where the action can be taken
// again: the confirmation page, whose form carries a fresh CSRF token.
func TestFreshSignInResumes(t *testing.T) {
	tests := []struct {
		name, path, back string
		form             url.Values
	}{
		{"rotate secret", "/admin/clients/app/rotate-secret", "/admin/clients/app/rotate-secret", url.Values{}},
		{"delete client", "/admin/clients/app/delete", "/admin/clients/app/delete", url.Values{}},
		{"disable user", "/admin/users/u-bob/disable", "/admin/users/u-bob/disable", url.Values{"disabled": {"1"}, "confirm": {"1"}}},
		{"reset password", "/admin/users/u-bob/password", "/admin/users/u-bob", url.Values{"password": {"a long enough passphrase"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.browser("u-admin")
			tt.form.Set("csrf_token", e.giveCSRF(c))
			e.clock.Advance(admin.DefaultFreshAuth + time.Minute)
			p := e.do(c, "POST", tt.path, tt.form)
			m := regexp.MustCompile(`href="(/admin/signin\?[^"]+)"`).FindStringSubmatch(p.body)
			if p.status != http.StatusForbidden || m == nil {
				t.Fatalf("status %d, want 403 with a sign-in link:\n%.600s", p.status, p.body)
			}
			start := e.do(c, "GET", html.UnescapeString(m[1]), nil)
			loc, err := url.Parse(start.loc)
			e.must(err)
			q := loc.Query()
			if loc.Path != "/authorize" || q.Get("prompt") != "login" || q.Get("login_hint") != "root" || q.Get("state") != tt.back {
				t.Fatalf("sign in again → %s, want /authorize with prompt=login, login_hint=root, state=%s", start.loc, tt.back)
			}
			// Signed in again: the page to resume at works, with a form.
			fresh := e.browser("u-admin")
			resume := e.do(fresh, "GET", tt.back, nil)
			if resume.status != http.StatusOK || !csrfRE.MatchString(resume.body) {
				t.Fatalf("resume at %s: %d\n%.600s", tt.back, resume.status, resume.body)
			}
		})
	}
}

// TestDisableAsksFirst: the user page's "disable" button shows a
// confirmation, like deleting a client; only its form disables.
func TestDisableAsksFirst(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	token := e.giveCSRF(c)
	for _, p := range []page{
		e.do(c, "POST", "/admin/users/u-bob/disable", url.Values{"csrf_token": {token}, "disabled": {"1"}}),
		e.do(c, "GET", "/admin/users/u-bob/disable", nil),
	} {
		if p.status != http.StatusOK || !strings.Contains(p.body, `name="confirm" value="1"`) || !strings.Contains(p.body, "Disable bob?") {
			t.Fatalf("want the confirmation page, got %d:\n%.600s", p.status, p.body)
		}
	}
	u, err := e.store.GetUser(context.Background(), "u-bob")
	e.must(err)
	if u.Disabled {
		t.Fatal("disabled without confirmation")
	}
	p := e.do(c, "POST", "/admin/users/u-bob/disable", url.Values{"csrf_token": {token}, "disabled": {"1"}, "confirm": {"1"}})
	u, err = e.store.GetUser(context.Background(), "u-bob")
	e.must(err)
	if p.status != http.StatusSeeOther || !u.Disabled {
		t.Fatalf("confirmed: %d, disabled %v", p.status, u.Disabled)
	}
}

// TestDeleteNotice: deleting a client ends on "Client app deleted", and
// that notice is only shown for a client that is gone.
func TestDeleteNotice(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	if p := e.do(c, "GET", "/admin/clients/app/deleted", nil); p.status != http.StatusSeeOther || p.loc != "/admin/clients/app" {
		t.Fatalf("notice for an existing client: %d %q", p.status, p.loc)
	}
	p := e.do(c, "POST", "/admin/clients/app/delete", url.Values{"csrf_token": {e.giveCSRF(c)}})
	if p.status != http.StatusSeeOther || p.loc != "/admin/clients/app/deleted" {
		t.Fatalf("delete: %d %q", p.status, p.loc)
	}
	n := e.do(c, "GET", p.loc, nil)
	if n.status != http.StatusOK || !strings.Contains(n.body, "Client app deleted.") || !strings.Contains(n.body, `role="status"`) {
		t.Fatalf("notice: %d\n%.600s", n.status, n.body)
	}
}

// TestClientFormErrorsAreDescribed: each field's problems are linked to
// the field with aria-describedby (and the field marked aria-invalid).
func TestClientFormErrorsAreDescribed(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	p := e.do(c, "POST", "/admin/clients/app", url.Values{"csrf_token": {e.giveCSRF(c)}, "name": {""},
		"redirect_uris": {"https://app.example/cb"}, "grant": {"authorization_code"}, "scopes": {"openid"}, "access_ttl": {"soon"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422:\n%.600s", p.status, p.body)
	}
	for _, f := range []struct{ input, errID string }{
		{`id="name"`, "name-error"},
		{`id="access_ttl"`, "ttl-error"},
	} {
		in := regexp.MustCompile(`<input[^>]*` + f.input + `[^>]*>`).FindString(p.body)
		if !strings.Contains(in, `aria-describedby="`+f.errID+`"`) || !strings.Contains(in, `aria-invalid="true"`) {
			t.Errorf("%s is not described by its errors: %s", f.input, in)
		}
		if !regexp.MustCompile(`id="` + f.errID + `"><p class="field-error" role="alert">[^<]+</p>`).MatchString(p.body) {
			t.Errorf("no error text under id %s", f.errID)
		}
	}
	if in := regexp.MustCompile(`<textarea[^>]*id="redirect_uris"[^>]*>`).FindString(p.body); strings.Contains(in, "aria-describedby") {
		t.Errorf("a valid field points at errors: %s", in)
	}
}

// TestUserConsents: the user page lists the applications the user
// allowed; revoking one (CSRF-protected, audited) deletes the consent and
// revokes that application's refresh tokens of the user only.
func TestUserConsents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	e.must(e.store.CreateClient(ctx, &storage.Client{ID: "other", Name: "Other", AuthMethod: storage.AuthMethodNone,
		ApplicationType: storage.ApplicationWeb, RedirectURIs: []string{"https://other.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}))
	token := func(id, client string) *storage.RefreshToken {
		rt := &storage.RefreshToken{ID: id, TokenHash: storage.HashToken(id), FamilyID: id, ClientID: client, UserID: "u-bob",
			SessionID: "s-bob", Scopes: []string{"openid", "offline_access"}, AuthTime: now, AMR: []string{"pwd"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}
		e.must(e.store.CreateRefreshToken(ctx, rt))
		return rt
	}
	appToken, otherToken := token("rt-app", "app"), token("rt-other", "other")
	c := e.browser("u-admin")
	page := e.do(c, "GET", "/admin/users/u-bob", nil)
	for _, want := range []string{"Applications allowed", `href="/admin/clients/app">App</a>`, "<code>openid</code>",
		`action="/admin/users/u-bob/consents/app/revoke"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("user page lacks %s", want)
		}
	}
	if p := e.do(c, "POST", "/admin/users/u-bob/consents/app/revoke", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", p.status)
	}
	p := e.do(c, "POST", "/admin/users/u-bob/consents/app/revoke", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(page.body)[1]}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%.400s", p.status, p.body)
	}
	if _, err := e.store.GetConsent(ctx, "u-bob", "app"); err == nil {
		t.Error("the consent is still there")
	}
	for _, tc := range []struct {
		rt      *storage.RefreshToken
		revoked bool
	}{{appToken, true}, {otherToken, false}} {
		got, err := e.store.GetRefreshToken(ctx, tc.rt.TokenHash)
		e.must(err)
		if !got.RevokedAt.IsZero() != tc.revoked {
			t.Errorf("%s revoked = %v, want %v", tc.rt.ID, !got.RevokedAt.IsZero(), tc.revoked)
		}
	}
	entries, err := e.store.ListAudit(ctx, storage.AuditFilter{}, 0, 10)
	e.must(err)
	if len(entries) != 1 || entries[0].Action != "user.revoke_consent" || entries[0].Target != "user:u-bob" || !strings.Contains(entries[0].After, "app") {
		t.Errorf("audit = %+v, want one consent.revoke", entries)
	}
	if p := e.do(c, "POST", "/admin/users/u-bob/consents/app/revoke", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(page.body)[1]}}); p.status != http.StatusNotFound {
		t.Errorf("revoking again: %d, want 404", p.status)
	}
}

// TestClientDeveloperSection: a client's page shows what an application
// developer needs, filled in for that client, and never its secret.
func TestClientDeveloperSection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	for _, cl := range []*storage.Client{
		{ID: "spa", Name: "SPA", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{"https://spa.example/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}},
		{ID: "batch", Name: "Batch", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			SecretHash: storage.HashToken("x"), GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}},
	} {
		cl.CreatedAt, cl.UpdatedAt = now, now
		e.must(e.store.CreateClient(ctx, cl))
	}
	tests := []struct {
		client      string
		want, never []string
	}{
		{"app", []string{"<code>" + e.srv.URL + "</code>", "<code>" + e.srv.URL + "/.well-known/openid-configuration</code>",
			"<code>https://app.example/cb</code>", `id="snippet-authjs-v5"`, `id="snippet-nextauth-v4"`, `id="snippet-go-oidc"`,
			`id="snippet-oauth2-proxy"`, `id="snippet-mod_auth_openidc"`, `clientId: &#34;app&#34;`, "OIDCRedirectURI https://app.example/cb"},
			[]string{storage.HashToken("old-secret")}},
		{"spa", []string{`id="snippet-authjs-v5"`, `token_endpoint_auth_method: &#34;none&#34;`},
			[]string{`id="snippet-oauth2-proxy"`, `id="snippet-mod_auth_openidc"`}},
		{"batch", []string{"does not sign people in"}, []string{`id="snippet-`}},
	}
	c := e.browser("u-admin")
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			p := e.do(c, "GET", "/admin/clients/"+tt.client, nil)
			if p.status != http.StatusOK {
				t.Fatalf("status %d", p.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, w := range tt.never {
				if strings.Contains(p.body, w) {
					t.Errorf("page shows %s", w)
				}
			}
		})
	}
}
