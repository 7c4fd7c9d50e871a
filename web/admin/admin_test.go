package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/admin"
)

// clock is the shared settable test clock.
type clock = storagetest.Clock

// plainHasher stands in for argon2id: the hash is "plain:" + password.
type plainHasher struct{}

func (plainHasher) Verify(password, phc string) (bool, bool, error) {
	return phc == "plain:"+password, false, nil
}
func (plainHasher) VerifyDummy(string)                   {}
func (plainHasher) Hash(password string) (string, error) { return "plain:" + password, nil }

// sessionEnder ends sessions directly in the store (op.Logout in the
// binary).
type sessionEnder struct{ e *env }

func (s sessionEnder) EndSession(ctx context.Context, sessionID, _ string) error {
	return s.e.store.RevokeSession(ctx, sessionID, s.e.clock.Now())
}

func (s sessionEnder) EndUserSessions(ctx context.Context, userID, _ string) (int, error) {
	ids, err := s.e.store.RevokeUserSessions(ctx, userID, s.e.clock.Now())
	return len(ids), err
}

type env struct {
	t     testing.TB
	store storage.Store
	clock *clock
	srv   *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvStore(t, memory.New())
}

// newEnvStore is newEnv on the store st (PostgreSQL for the round-trip
// test and the benchmark).
func newEnvStore(t testing.TB, st storage.Store) *env {
	t.Helper()
	e := &env{t: t, store: st, clock: storagetest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	pages, err := web.New(web.Config{Store: e.store, Hasher: plainHasher{}, Issuer: e.srv.URL,
		CallbackURL: func(id string) string { return "/authorize/callback?id=" + id }, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	console, err := admin.New(admin.Config{Pages: pages, Store: e.store, Issuer: e.srv.URL, Now: e.clock.Now,
		Hasher: plainHasher{}, Sessions: sessionEnder{e}})
	if err != nil {
		t.Fatal(err)
	}
	pages.Routes(mux)
	console.Routes(mux)
	ctx := context.Background()
	now := e.clock.Now()
	for _, u := range []*storage.User{
		{ID: "u-admin", Username: "root", PasswordHash: "plain:pw", Admin: true, CreatedAt: now, UpdatedAt: now},
		{ID: "u-bob", Username: "bob", PasswordHash: "plain:pw", CreatedAt: now, UpdatedAt: now},
	} {
		e.must(e.store.CreateUser(ctx, u))
	}
	e.must(e.store.CreateGroup(ctx, &storage.Group{ID: "g-staff", Name: "staff", CreatedAt: now, UpdatedAt: now}))
	e.must(e.store.AddGroupMember(ctx, "g-staff", "u-bob"))
	e.must(e.store.CreateSession(ctx, &storage.Session{ID: "s-bob", TokenHash: storage.HashToken(storage.NewToken()),
		UserID: "u-bob", AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
		Address: "192.0.2.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}))
	e.must(e.store.CreateClient(ctx, &storage.Client{
		ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		SecretHash: storage.HashToken("old-secret"), RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now,
	}))
	// bob allowed the app (the user page's consent section).
	e.must(e.store.SaveConsent(ctx, &storage.Consent{UserID: "u-bob", ClientID: "app", Scopes: []string{"openid"}, GrantedAt: now}))
	giveBobFactors(e) // the user page's second-factor section
	return e
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// browser returns a client without redirects, signed in as userID when
// it is not empty.
func (e *env) browser(userID string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if userID != "" {
		token := storage.NewToken()
		now := e.clock.Now()
		e.must(e.store.CreateSession(context.Background(), &storage.Session{
			ID: storage.NewID(), TokenHash: storage.HashToken(token), UserID: userID, AuthTime: now, AMR: []string{"pwd"},
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour),
		}))
		u, _ := url.Parse(e.srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "monban_session", Value: token, Path: "/"}})
	}
	return c
}

type page struct {
	status int
	loc    string
	body   string
}

func (e *env) do(c *http.Client, method, path string, form url.Values) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	e.must(err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	e.must(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf opens a form page and returns its CSRF token.
func (e *env) csrf(c *http.Client) string {
	e.t.Helper()
	p := e.do(c, "GET", "/admin/clients/new", nil)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		e.t.Fatalf("no csrf token on the form (status %d)", p.status)
	}
	return m[1]
}

// giveCSRF gives browser c a valid CSRF cookie (taken from an
// administrator's form) and returns the matching form token, so that only
// the session decides what c may do.
func (e *env) giveCSRF(c *http.Client) string {
	e.t.Helper()
	a := e.browser("u-admin")
	token := e.csrf(a)
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range a.Jar.Cookies(u) {
		if ck.Name == "monban_csrf" {
			c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
		}
	}
	return token
}

// snapshot is everything an admin change could alter.
func (e *env) snapshot() any {
	ctx := context.Background()
	cs, err := e.store.ListClients(ctx)
	e.must(err)
	us, err := e.store.ListUsers(ctx)
	e.must(err)
	ss, err := e.store.GetSession(ctx, "s-bob")
	e.must(err)
	return []any{cs, us, ss.RevokedAt}
}

type route struct {
	method, path string
	form         url.Values
	action       string // the audit action an admin's request writes
}

var getRoutes = []string{
	"/admin", "/admin/clients", "/admin/clients?q=ap", "/admin/clients/new", "/admin/clients/app",
	"/admin/clients/app/delete", "/admin/users", "/admin/users?q=bo", "/admin/users/new", "/admin/users/u-bob", "/admin/sessions", "/admin/keys", "/admin/audit",
}

var postRoutes = []route{
	{"POST", "/admin/clients/new", url.Values{"type": {"web"}, "id": {"new-app"}, "name": {"New"},
		"redirect_uris": {"https://new.example/cb"}, "scopes": {"openid"}}, "client.create"},
	{"POST", "/admin/clients/app", url.Values{"name": {"Renamed"}, "redirect_uris": {"https://app.example/cb"},
		"grant": {"authorization_code"}, "scopes": {"openid"}}, "client.update"},
	{"POST", "/admin/clients/app/delete", url.Values{}, "client.delete"},
	{"POST", "/admin/clients/app/rotate-secret", url.Values{}, "client.rotate_secret"},
	{"POST", "/admin/users/new", url.Values{"username": {"carol"}, "password": {"a long enough passphrase"}}, "user.create"},
	{"POST", "/admin/users/u-bob/password", url.Values{"password": {"another long passphrase"}}, "user.password"},
	{"POST", "/admin/users/u-bob/disable", url.Values{"disabled": {"1"}, "confirm": {"1"}}, "user.disable"},
	{"POST", "/admin/users/u-bob/admin", url.Values{"admin": {"1"}}, "user.grant_admin"},
	{"POST", "/admin/users/u-bob/logout-everywhere", url.Values{}, "user.logout_everywhere"},
	{"POST", "/admin/sessions/s-bob/end", url.Values{}, "session.end"},
}

// TestAccess checks every console route for an anonymous browser, a
// signed-in user who is not an administrator, and an administrator.
func TestAccess(t *testing.T) {
	for _, path := range getRoutes {
		t.Run("GET "+path, func(t *testing.T) {
			e := newEnv(t)
			cases := []struct {
				name   string
				user   string
				status int
			}{
				{"anonymous", "", http.StatusSeeOther},
				{"non-admin", "u-bob", http.StatusForbidden},
				{"admin", "u-admin", http.StatusOK},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := e.snapshot()
					p := e.do(e.browser(tc.user), "GET", path, nil)
					if p.status != tc.status {
						t.Fatalf("status = %d, want %d; body %.300s", p.status, tc.status, p.body)
					}
					if tc.user == "" && !strings.HasPrefix(p.loc, "/admin/signin?next=") {
						t.Errorf("Location = %q, want the console sign-in", p.loc)
					}
					if after := e.snapshot(); !reflect.DeepEqual(before, after) {
						t.Errorf("GET changed the store")
					}
				})
			}
		})
	}
	for _, r := range postRoutes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			cases := []struct {
				name     string
				user     string
				csrf     bool
				stale    bool // the sign-in is older than the fresh-auth window
				status   int
				modifies bool
			}{
				{"anonymous", "", true, false, http.StatusForbidden, false},
				{"non-admin", "u-bob", true, false, http.StatusForbidden, false},
				{"admin without CSRF token", "u-admin", false, false, http.StatusForbidden, false},
				{"admin", "u-admin", true, false, 0, true},
				{"admin with stale sign-in", "u-admin", true, true, 0, !sensitive(r.path)},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t)
					c := e.browser(tc.user)
					form := url.Values{}
					for k, v := range r.form {
						form[k] = v
					}
					if tc.csrf {
						form.Set("csrf_token", e.giveCSRF(c))
					}
					if tc.stale {
						e.clock.Advance(admin.DefaultFreshAuth + time.Minute)
					}
					before := e.snapshot()
					p := e.do(c, r.method, r.path, form)
					want := tc.status
					if want == 0 {
						want = http.StatusSeeOther
						if tc.stale && sensitive(r.path) {
							want = http.StatusForbidden
						} else if strings.HasSuffix(r.path, "/rotate-secret") || (r.path == "/admin/clients/new" && tc.modifies) {
							want = http.StatusOK // the page that shows the secret once
						}
					}
					if p.status != want {
						t.Fatalf("status = %d, want %d; body %.400s", p.status, want, p.body)
					}
					if tc.stale && sensitive(r.path) {
						// Actions with a confirmation page resume there;
						// the others return to the page of their form.
						back := r.path
						for _, a := range []string{"/password", "/admin"} {
							back = strings.TrimSuffix(back, a)
						}
						if want := `href="` + signInLink(back) + `"`; !strings.Contains(p.body, want) {
							t.Errorf("stale sign-in page lacks %s", want)
						}
					}
					changed := !reflect.DeepEqual(before, e.snapshot())
					if changed != tc.modifies {
						t.Errorf("store changed = %v, want %v", changed, tc.modifies)
					}
					entries, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 10)
					e.must(err)
					switch {
					case !tc.modifies && len(entries) != 0:
						t.Errorf("refused change wrote %d audit entries", len(entries))
					case tc.modifies && (len(entries) != 1 || entries[0].Action != r.action || entries[0].Actor != "root"):
						t.Errorf("audit entries = %+v, want one %q by root", entries, r.action)
					case tc.modifies && (strings.Contains(entries[0].Before+entries[0].After, storage.HashToken("old-secret")) ||
						strings.Contains(entries[0].Before+entries[0].After, "plain:")):
						t.Errorf("audit entry leaks a secret: %+v", entries[0])
					}
				})
			}
		})
	}
}

// sensitive reports whether the route needs a fresh sign-in.
func sensitive(path string) bool {
	for _, suffix := range []string{"/delete", "/rotate-secret", "/password", "/disable", "/admin"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// TestDisableUser: disabling a user ends their sessions; an administrator
// cannot disable or demote their own account.
func TestDisableUser(t *testing.T) {
	cases := []struct {
		name       string
		target     string
		wantStatus int
		wantEnded  bool
	}{
		{"another user", "u-bob", http.StatusSeeOther, true},
		{"own account", "u-admin", http.StatusBadRequest, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			victim := e.browser(tc.target)
			if p := e.do(victim, "GET", "/admin/keys", nil); tc.target == "u-bob" && p.status != http.StatusForbidden {
				t.Fatalf("bob's session does not work: %d", p.status)
			}
			c := e.browser("u-admin")
			form := url.Values{"disabled": {"1"}, "confirm": {"1"}, "csrf_token": {e.giveCSRF(c)}}
			if p := e.do(c, "POST", "/admin/users/"+tc.target+"/disable", form); p.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", p.status, tc.wantStatus)
			}
			live, err := e.store.ListUserSessions(context.Background(), tc.target)
			e.must(err)
			u, err := e.store.GetUser(context.Background(), tc.target)
			e.must(err)
			if ended := len(live) == 0; ended != tc.wantEnded || u.Disabled != tc.wantEnded {
				t.Errorf("sessions ended = %v, disabled = %v; want %v", ended, u.Disabled, tc.wantEnded)
			}
		})
	}
}

// TestSignInRedirect: the console's sign-in goes to /authorize for the
// internal client (registered on first use), keeps the return path in
// state, adds prompt=login for a fresh sign-in, and the callback returns
// only to console paths.
func TestSignInRedirect(t *testing.T) {
	e := newEnv(t)
	c := e.browser("")
	p := e.do(c, "GET", "/admin/signin?fresh=1&next=%2Fadmin%2Fclients%2Fapp", nil)
	loc, err := url.Parse(p.loc)
	e.must(err)
	q := loc.Query()
	if p.status != http.StatusSeeOther || loc.Path != "/authorize" || q.Get("client_id") != admin.ClientID ||
		q.Get("redirect_uri") != e.srv.URL+"/admin/callback" || q.Get("state") != "/admin/clients/app" ||
		q.Get("prompt") != "login" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("sign-in redirect = %d %s", p.status, p.loc)
	}
	if _, err := e.store.GetClient(context.Background(), admin.ClientID); err != nil {
		t.Fatalf("internal client not registered: %v", err)
	}
	cases := []struct {
		name, state, want string
	}{
		{"console path", "/admin/users", "/admin/users"},
		{"other site", "https://evil.example/", "/admin"},
		{"scheme-relative", "//evil.example/admin", "/admin"},
		{"outside the console", "/login", "/admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(c, "GET", "/admin/callback?code=x&state="+url.QueryEscape(tc.state), nil)
			if p.status != http.StatusSeeOther || p.loc != tc.want {
				t.Errorf("callback → %d %q, want %q", p.status, p.loc, tc.want)
			}
		})
	}
}

// signInLink is the console's "sign in again" link for a page, with the
// administrator's username to fill in, as it appears HTML-escaped in an
// attribute.
func signInLink(page string) string {
	return strings.ReplaceAll("/admin/signin?"+url.Values{"fresh": {"1"}, "hint": {"root"}, "next": {page}}.Encode(), "&", "&amp;")
}

// TestEnsureClientFollowsTheIssuer: the internal client is registered on
// first use, and its redirect URI follows the issuer when that changes
// (a new host name), so the console's sign-in keeps working.
func TestEnsureClientFollowsTheIssuer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []string // the stored client's redirect URIs; nil: none stored
	}{
		{"first-use", nil},
		{"issuer-changed", []string{"https://old.example/admin/callback"}},
		{"up-to-date", []string{"CURRENT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			want := e.srv.URL + "/admin/callback"
			if tc.existing != nil {
				uris := tc.existing
				if uris[0] == "CURRENT" {
					uris = []string{want}
				}
				now := e.clock.Now()
				e.must(e.store.CreateClient(ctx, &storage.Client{ID: admin.ClientID, Name: "console",
					AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb, RedirectURIs: uris,
					GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}))
			}
			p := e.do(e.browser(""), http.MethodGet, "/admin/signin?next=%2Fadmin", nil)
			if p.status != http.StatusSeeOther || !strings.Contains(p.loc, url.QueryEscape(want)) {
				t.Fatalf("sign-in: %d → %q, want /authorize with redirect_uri %s", p.status, p.loc, want)
			}
			c, err := e.store.GetClient(ctx, admin.ClientID)
			if err != nil || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != want {
				t.Fatalf("internal client redirect URIs %v (%v), want [%s]", c.RedirectURIs, err, want)
			}
		})
	}
}
