package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/i18n"
)

// fakeUpstream is a connector.Redirector whose "upstream" answers with
// the identity (or error) the test set; its authorization URL carries
// state, nonce and verifier so the test can play the upstream's redirect.
type fakeUpstream struct {
	ident connector.Identity
	err   error
	down  bool   // Prepare fails
	base  string // the authorization endpoint; "": https://upstream.example/authorize
}

func (f *fakeUpstream) Prepare(context.Context) error {
	if f.down {
		return connector.ErrUpstreamUnavailable
	}
	return nil
}

func (f *fakeUpstream) AuthCodeURL(redirectURI, state, nonce, verifier string) string {
	base := f.base
	if base == "" {
		base = "https://upstream.example/authorize"
	}
	return base + "?" + url.Values{"redirect_uri": {redirectURI}, "state": {state},
		"nonce": {nonce}, "verifier": {verifier}}.Encode()
}

func (f *fakeUpstream) HandleCallback(_ context.Context, _ string, q url.Values, nonce, verifier string) (connector.Identity, error) {
	if f.err != nil {
		return connector.Identity{}, f.err
	}
	if q.Get("code") != "code-for-"+nonce+verifier {
		return connector.Identity{}, connector.ErrInvalidResponse
	}
	return f.ident, nil
}

func withUpstream(f *fakeUpstream, jit bool) envOption {
	return func(c *Config) {
		c.Connectors = []Connector{{ID: "up", Names: map[string]string{"": "Upstream", "ja": "アップストリーム"},
			Redirector: f, JIT: jit}}
	}
}

// startUpstream presses the button for a new request and plays the
// upstream's answer; it returns the callback's page and the request.
func startUpstream(t *testing.T, e *testEnv, c *http.Client) (callback string, id string) {
	t.Helper()
	id = e.newRequest()
	login := e.get(c, e.h.SignInURL(id))
	if !strings.Contains(login.body, `id="connector-up"`) {
		t.Fatalf("no connector button:\n%s", login.body)
	}
	start := e.get(c, "/connector/up/start?id="+url.QueryEscape(id))
	if start.status != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", start.status, start.body)
	}
	to, _ := url.Parse(start.header.Get("Location"))
	q := to.Query()
	return "/connector/up/callback?" + url.Values{"state": {q.Get("state")},
		"code": {"code-for-" + q.Get("nonce") + q.Get("verifier")}}.Encode(), id
}

func (e *testEnv) auditDetails(action string) []string {
	e.t.Helper()
	list, err := e.store.ListAudit(context.Background(), storage.AuditFilter{Actions: []string{action}}, 0, 100)
	e.must(err)
	var out []string
	for _, a := range list {
		out = append(out, a.Detail)
	}
	return out
}

func TestUpstreamSignIn(t *testing.T) {
	ident := connector.Identity{ConnectorID: "up", Subject: "sub-1", Username: "carol", Email: "carol@example.test",
		EmailVerified: true, Groups: []string{"eng"}}
	tests := []struct {
		name       string
		up         fakeUpstream
		jit        bool
		tamper     func(cb string) string
		replay     bool
		setup      func(e *testEnv) // before the sign-in
		wantStatus int
		wantTitle  string
		wantUser   bool // a user carol exists afterwards
	}{
		{name: "JIT sign-in", up: fakeUpstream{ident: ident}, jit: true, wantStatus: http.StatusSeeOther, wantUser: true},
		{name: "JIT off", up: fakeUpstream{ident: ident}, wantStatus: http.StatusForbidden, wantTitle: connNoAccountT},
		{name: "bad state", up: fakeUpstream{ident: ident}, jit: true,
			tamper: func(cb string) string { return strings.Replace(cb, "state=", "state=x", 1) }, wantStatus: http.StatusBadRequest, wantTitle: connStateT},
		{name: "replayed callback", up: fakeUpstream{ident: ident}, jit: true, replay: true, wantStatus: http.StatusBadRequest, wantTitle: connStateT, wantUser: true},
		{name: "upstream error", up: fakeUpstream{err: connector.ErrUpstreamRefused}, jit: true, wantStatus: http.StatusForbidden, wantTitle: connRefusedT},
		{name: "wrong issuer or audience", up: fakeUpstream{err: connector.ErrInvalidResponse}, jit: true, wantStatus: http.StatusBadGateway, wantTitle: connInvalidT},
		{name: "e-mail of an account without a password: no link form nobody can complete", up: fakeUpstream{ident: ident}, jit: true,
			setup: func(e *testEnv) {
				e.must(e.store.CreateUser(context.Background(), &storage.User{ID: "u-carol", Username: "carol", Email: "carol@example.test",
					CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}))
			}, wantStatus: http.StatusConflict, wantTitle: connNoLinkT, wantUser: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, withUpstream(&tc.up, tc.jit))
			if tc.setup != nil {
				tc.setup(e)
			}
			c := e.browser()
			cb, _ := startUpstream(t, e, c)
			if tc.tamper != nil {
				cb = tc.tamper(cb)
			}
			p := e.get(c, cb)
			if tc.replay {
				p = e.get(c, cb)
			}
			if p.status != tc.wantStatus {
				t.Fatalf("callback: %d, want %d\n%s", p.status, tc.wantStatus, p.body)
			}
			_, err := e.store.GetUserByUsername(t.Context(), "carol")
			if (err == nil) != tc.wantUser {
				t.Fatalf("user carol exists: %v, want %v", err == nil, tc.wantUser)
			}
			if tc.wantTitle != "" {
				if e.sessionCookie(c) != "" && !tc.replay {
					t.Fatal("a refused upstream sign-in left a session")
				}
				if len(e.auditDetails(storage.ActionSignInFailed)) == 0 {
					t.Fatal("no audit entry for the refused upstream sign-in")
				}
				if _, err := e.store.GetFederatedIdentity(t.Context(), "up", ident.Subject); err == nil && !tc.replay {
					t.Fatal("a refused upstream sign-in linked the identity")
				}
				if !tc.replay && !strings.Contains(p.body, englishText(t, tc.wantTitle)) {
					t.Fatalf("page without its title %s:\n%s", tc.wantTitle, p.body)
				}
				return
			}
			if loc := p.header.Get("Location"); !strings.HasPrefix(loc, callbackPath) {
				t.Fatalf("sign-in went to %q", loc)
			}
			if e.sessionCookie(c) == "" {
				t.Fatal("no session")
			}
			u, _ := e.store.GetUserByUsername(t.Context(), "carol")
			sess := e.userSessions(u.ID)
			if len(sess) != 1 || !strings.Contains(strings.Join(sess[0].AMR, " "), "fed") {
				t.Fatalf("sessions %+v", sess)
			}
			if strings.Join(u.Groups, ",") != "eng" || u.PasswordHash != "" || !u.EmailVerified {
				t.Fatalf("JIT user %+v", u)
			}
		})
	}
}

// TestUpstreamTakeover: an upstream identity with the e-mail address of
// a local account is never linked by the address; it is linked only
// after the account's password.
func TestUpstreamTakeover(t *testing.T) {
	up := &fakeUpstream{ident: connector.Identity{ConnectorID: "up", Subject: "evil", Username: "alice",
		Email: "alice@example.com", EmailVerified: true}}
	e := newEnv(t, false, withUpstream(up, true))
	e.must(e.store.Atomically(context.Background(), func(s storage.Store) error {
		_, err := s.UpdateUser(context.Background(), "u-alice", func(u *storage.User) error { u.Email = "Alice@example.com"; return nil })
		return err
	}))
	c := e.browser()
	cb, id := startUpstream(t, e, c)
	p := e.get(c, cb)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), linkPath) {
		t.Fatalf("callback: %d %q", p.status, p.header.Get("Location"))
	}
	if e.sessionCookie(c) != "" {
		t.Fatal("session before the local password")
	}
	form := e.get(c, p.header.Get("Location"))
	if form.status != http.StatusOK || strings.Contains(form.body, `value="alice"`) {
		t.Fatalf("link page: %d (must not reveal the account)\n%s", form.status, form.body)
	}
	wrong := e.post(c, linkPath, url.Values{"id": {id}, "csrf_token": {csrf(t, form)}, "username": {"alice"}, "password": {"guess"}})
	if wrong.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", wrong.status)
	}
	if _, err := e.store.GetFederatedIdentity(t.Context(), "up", "evil"); !errors.Is(err, storage.ErrNotFound) || e.sessionCookie(c) != "" {
		t.Fatalf("linked or signed in without the password: %v", err)
	}
	if users, _ := e.store.ListUsersByEmail(t.Context(), "alice@example.com"); len(users) != 1 {
		t.Fatalf("a second account with the address was created: %d", len(users))
	}
	// A browser without the pending link cannot use the page at all.
	if other := e.get(e.browser(), linkPath+"?id="+url.QueryEscape(id)); other.status != http.StatusBadRequest {
		t.Fatalf("link page without the cookie: %d", other.status)
	}
	ok := e.post(c, linkPath, url.Values{"id": {id}, "csrf_token": {csrf(t, form)}, "username": {"alice"}, "password": {alicePassword}})
	if ok.status != http.StatusSeeOther || !strings.HasPrefix(ok.header.Get("Location"), callbackPath) {
		t.Fatalf("right password: %d %q\n%s", ok.status, ok.header.Get("Location"), ok.body)
	}
	link, err := e.store.GetFederatedIdentity(t.Context(), "up", "evil")
	if err != nil || link.UserID != "u-alice" {
		t.Fatalf("link %+v, %v", link, err)
	}
	sess := e.userSessions("u-alice")
	if len(sess) != 1 || strings.Join(sess[0].AMR, " ") != "fed pwd" {
		t.Fatalf("sessions %+v", sess)
	}
	if len(e.auditDetails(storage.ActionIdentityLinked)) != 1 {
		t.Fatal("no audit entry for the link")
	}
	// Next time the upstream alone is enough.
	c2 := e.browser()
	cb, _ = startUpstream(t, e, c2)
	if p := e.get(c2, cb); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), callbackPath) {
		t.Fatalf("linked sign-in: %d %q", p.status, p.header.Get("Location"))
	}
}

func TestUpstreamDown(t *testing.T) {
	e := newEnv(t, false, withUpstream(&fakeUpstream{down: true}, true))
	c := e.browser()
	id := e.newRequest()
	p := e.get(c, "/connector/up/start?id="+url.QueryEscape(id))
	if p.status != http.StatusServiceUnavailable || e.sessionCookie(c) != "" {
		t.Fatalf("start with the upstream down: %d", p.status)
	}
	if len(e.auditDetails(storage.ActionSignInFailed)) != 1 {
		t.Fatal("no audit entry")
	}
	if p := e.get(c, "/connector/nope/start?id="+url.QueryEscape(id)); p.status != http.StatusNotFound {
		t.Fatalf("unknown connector: %d", p.status)
	}
}

// federationPages renders the upstream sign-in's pages for the language
// test: the sign-in page with a button, the link page and its refusal,
// and the account page listing a linked identity.
func federationPages(t *testing.T, lang string) map[string]page {
	up := &fakeUpstream{ident: connector.Identity{ConnectorID: "up", Subject: "s", Email: "alice@example.com", EmailVerified: true}}
	e := newEnv(t, false, withUpstream(up, true))
	_, err := e.store.UpdateUser(t.Context(), "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	c := e.browser()
	e.switchTo(c, lang, "/logged-out")
	pages := map[string]page{}
	cb, id := startUpstream(t, e, c)
	pages["login-connectors"] = e.get(c, e.h.SignInURL(id))
	pages["link"] = e.get(c, e.get(c, cb).header.Get("Location"))
	pages["link-error"] = e.post(c, linkPath, url.Values{"id": {id}, "csrf_token": {csrf(t, pages["link"])},
		"username": {"alice"}, "password": {"wrong"}})
	if p := e.post(c, linkPath, url.Values{"id": {id}, "csrf_token": {csrf(t, pages["link"])},
		"username": {"alice"}, "password": {alicePassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("link: %d\n%s", p.status, p.body)
	}
	pages["account-linked"] = e.get(c, accountPath)
	if !strings.Contains(pages["account-linked"].body, `id="linked"`) {
		t.Fatalf("account page without the linked identity:\n%s", pages["account-linked"].body)
	}
	return pages
}

// endingUpstream is a fakeUpstream with an end-of-session endpoint.
type endingUpstream struct{ *fakeUpstream }

func (endingUpstream) EndSessionURL(_ context.Context, back string) string {
	return "https://upstream.example/logout?" + url.Values{"post_logout_redirect_uri": {back}}.Encode()
}

// TestUpstreamEndSession: with end_session_redirect, monban's own logout
// ends its session first; the signed-out page then sends the browser to
// the upstream once, with the way back to monban's signed-out page.
func TestUpstreamEndSession(t *testing.T) {
	up := &fakeUpstream{ident: connector.Identity{ConnectorID: "up", Subject: "s", Username: "carol"}}
	e := newEnv(t, false, func(c *Config) {
		c.Connectors = []Connector{{ID: "up", Names: map[string]string{"": "Upstream"}, Redirector: endingUpstream{up},
			JIT: true, EndSessionRedirect: true}}
	})
	c := e.browser()
	cb, _ := startUpstream(t, e, c)
	if p := e.get(c, cb); p.status != http.StatusSeeOther || e.sessionCookie(c) == "" {
		t.Fatalf("sign-in: %d", p.status)
	}
	// While signed in, the signed-out page does not log out of the upstream.
	if p := e.get(c, "/logged-out"); p.status != http.StatusOK {
		t.Fatalf("signed-out page while signed in: %d", p.status)
	}
	acct := e.get(c, accountPath)
	out := e.post(c, "/logout", url.Values{"csrf_token": {csrf(t, acct)}})
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/logged-out" {
		t.Fatalf("logout: %d %q", out.status, out.header.Get("Location"))
	}
	p := e.get(c, "/logged-out")
	want := "https://upstream.example/logout?post_logout_redirect_uri=" + url.QueryEscape(e.srv.URL+"/logged-out")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("signed-out page: %d %q, want a redirect to %q", p.status, p.header.Get("Location"), want)
	}
	if p := e.get(c, "/logged-out"); p.status != http.StatusOK {
		t.Fatalf("back from the upstream: %d", p.status)
	}
}

// englishText is the English catalog's text of key.
func englishText(t *testing.T, key string) string {
	t.Helper()
	msg, ok := i18n.Catalogs().Message("en", key)
	if !ok {
		t.Fatalf("no English text for %s", key)
	}
	return msg
}
