package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

func TestLoginSuccess(t *testing.T) {
	tests := []struct {
		name       string
		tls        bool
		cookieName string
	}{
		{name: "http issuer", tls: false, cookieName: "monban_session"},
		{name: "https issuer", tls: true, cookieName: "__Host-monban_session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.tls)
			c := e.browser()
			id := e.newRequest()
			form := e.get(c, e.h.SignInURL(id))
			csrfName := strings.Replace(tt.cookieName, "session", "csrf", 1)
			if ck := findCookie(form.resp, csrfName); ck == nil || !ck.HttpOnly || ck.Secure != tt.tls ||
				ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || len(ck.Value) != 43 {
				t.Errorf("CSRF cookie %s: %+v", csrfName, ck)
			}
			resp := e.post(c, "/login", url.Values{
				"id": {id}, "csrf_token": {csrf(t, form)}, "username": {"alice"}, "password": {alicePassword},
			})

			if resp.status != http.StatusSeeOther {
				t.Fatalf("status = %d, want 303; body:\n%s", resp.status, resp.body)
			}
			wantLoc := callbackPath + "?id=" + id
			if loc := resp.header.Get("Location"); loc != wantLoc {
				t.Errorf("Location = %q, want %q", loc, wantLoc)
			}
			if strings.Contains(resp.header.Get("Location"), "horse") {
				t.Error("password appears in the redirect URL")
			}

			sc := findCookie(resp.resp, tt.cookieName)
			if sc == nil {
				t.Fatalf("no %s cookie in %q", tt.cookieName, resp.header.Values("Set-Cookie"))
			}
			if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
				t.Errorf("cookie attributes: HttpOnly=%v SameSite=%v Path=%q Domain=%q", sc.HttpOnly, sc.SameSite, sc.Path, sc.Domain)
			}
			if sc.Secure != tt.tls {
				t.Errorf("cookie Secure = %v, want %v", sc.Secure, tt.tls)
			}
			if len(sc.Value) != 43 {
				t.Errorf("cookie value has %d characters, want 43 (256 bits)", len(sc.Value))
			}
			if tt.tls && resp.header.Get("Strict-Transport-Security") == "" {
				t.Error("https issuer: no Strict-Transport-Security")
			}

			// The row stores the hash of the cookie, never the cookie.
			ctx := context.Background()
			s, err := e.store.GetSessionByTokenHash(ctx, storage.HashToken(sc.Value))
			if err != nil {
				t.Fatalf("session by token hash: %v", err)
			}
			if s.TokenHash == sc.Value || s.ID == sc.Value {
				t.Error("session row holds the raw cookie value")
			}
			now := e.clock.Now()
			if s.UserID != "u-alice" || !s.AuthTime.Equal(now) || !s.ExpiresAt.Equal(now.Add(session.DefaultMaxAge)) ||
				len(s.AMR) != 1 || s.AMR[0] != "pwd" {
				t.Errorf("session = %+v", s)
			}

			ar := e.authRequest(id)
			if ar.UserID != "u-alice" || ar.SessionID != s.ID || !ar.AuthTime.Equal(now) || len(ar.AMR) != 1 {
				t.Errorf("auth request not bound to the session: %+v", ar)
			}
			cur, err := e.h.sessions.Current(e.requestFor(c))
			if err != nil || cur == nil || cur.ID != s.ID {
				t.Errorf("CurrentSession = %+v, %v; want session %s", cur, err, s.ID)
			}
		})
	}
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func TestLoginFailuresLookAlike(t *testing.T) {
	tests := []struct {
		name, username, password string
	}{
		{name: "wrong password", username: "alice", password: "wrong password"},
		{name: "unknown user", username: "nobody", password: "wrong password"},
		{name: "disabled user with right password", username: "dave", password: alicePassword},
		{name: "user without password", username: "nopass", password: "wrong password"},
	}
	e := newEnv(t, false)
	e.addUser("u-dave", "dave", "plain:"+alicePassword, true)
	e.addUser("u-nopass", "nopass", "", false)
	c := e.browser()
	id := e.newRequest()
	form := e.get(c, e.h.SignInURL(id))
	token := csrf(t, form)

	var first page
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.fake.calls()
			got := e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {token}, "username": {tt.username}, "password": {tt.password}})
			if got.status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", got.status)
			}
			if !strings.Contains(got.body, "Incorrect username or password.") || !strings.Contains(got.body, `role="alert"`) {
				t.Errorf("body lacks the generic alert:\n%s", got.body)
			}
			if n := e.fake.calls() - before; n != 1 {
				t.Errorf("%d hasher calls, want exactly 1 (dummy for unknown users)", n)
			}
			if len(got.header.Values("Set-Cookie")) != 0 {
				t.Errorf("failed sign-in set cookies: %q", got.header.Values("Set-Cookie"))
			}
			// Bodies differ only in the echoed username.
			body := strings.ReplaceAll(got.body, `value="`+tt.username+`"`, `value="USER"`)
			if i == 0 {
				first = page{status: got.status, body: body}
			} else if body != first.body || got.status != first.status {
				t.Errorf("response differs from the wrong-password case")
			}
		})
	}
	for _, u := range []string{"u-alice", "u-dave", "u-nopass"} {
		if ss := e.userSessions(u); len(ss) != 0 {
			t.Errorf("user %s has %d sessions after failed sign-ins", u, len(ss))
		}
	}
	if e.authRequest(id).Authenticated() {
		t.Error("auth request authenticated after failures")
	}
}

func TestLoginInputLimits(t *testing.T) {
	e := newEnv(t, false)
	c := e.browser()
	id := e.newRequest()
	token := csrf(t, e.get(c, e.h.SignInURL(id)))
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{
			name:       "password over 1024 bytes refused before hashing",
			form:       url.Values{"id": {id}, "csrf_token": {token}, "username": {"alice"}, "password": {strings.Repeat("p", 1025)}},
			wantStatus: http.StatusBadRequest, wantText: "Incorrect username or password.",
		},
		{
			name:       "body over 64 KiB",
			form:       url.Values{"id": {id}, "csrf_token": {token}, "username": {"alice"}, "password": {strings.Repeat("p", 70<<10)}},
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "too large",
		},
		{
			name:       "invalid UTF-8 username",
			form:       url.Values{"id": {id}, "csrf_token": {token}, "username": {"al\xffice"}, "password": {alicePassword}},
			wantStatus: http.StatusBadRequest, wantText: "Incorrect username or password.",
		},
		{
			name:       "empty password",
			form:       url.Values{"id": {id}, "csrf_token": {token}, "username": {"alice"}, "password": {""}},
			wantStatus: http.StatusBadRequest, wantText: "Enter your username and password.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.fake.calls()
			got := e.post(c, "/login", tt.form)
			if got.status != tt.wantStatus || !strings.Contains(got.body, tt.wantText) {
				t.Errorf("status %d, want %d with %q; body:\n%s", got.status, tt.wantStatus, tt.wantText, got.body)
			}
			if n := e.fake.calls() - before; n != 0 {
				t.Errorf("%d hasher calls, want none", n)
			}
		})
	}
	if e.authRequest(id).Authenticated() || len(e.userSessions("u-alice")) != 0 {
		t.Error("refused input signed the user in")
	}
}

func TestLoginCSRF(t *testing.T) {
	tests := []struct {
		name  string
		token func(e *testEnv, good string) string
		hdr   []string // extra request headers (name, value; empty value deletes)
		prep  func(e *testEnv, c *http.Client)
	}{
		{name: "missing token", token: func(*testEnv, string) string { return "" }},
		{name: "wrong token", token: func(*testEnv, string) string { return strings.Repeat("A", 43) }},
		{name: "token of another browser", token: func(e *testEnv, _ string) string {
			return csrf(e.t, e.get(e.browser(), e.h.SignInURL(e.newRequest())))
		}},
		{name: "no csrf cookie", token: func(_ *testEnv, good string) string { return good },
			prep: func(e *testEnv, c *http.Client) { e.deleteCookie(c, e.h.csrfName) }},
		{name: "planted csrf cookie", token: func(_ *testEnv, good string) string { return good },
			prep: func(e *testEnv, c *http.Client) { e.setCookie(c, e.h.csrfName, storage.NewToken()) }},
		{name: "cross-site fetch metadata", token: func(_ *testEnv, good string) string { return good },
			hdr: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}},
		{name: "same-site sibling", token: func(_ *testEnv, good string) string { return good },
			hdr: []string{"Sec-Fetch-Site", "same-site", "Origin", "https://sub.example"}},
		{name: "foreign origin without fetch metadata", token: func(_ *testEnv, good string) string { return good },
			hdr: []string{"Sec-Fetch-Site", "", "Origin", "https://evil.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c := e.browser()
			id := e.newRequest()
			good := csrf(t, e.get(c, e.h.SignInURL(id)))
			if tt.prep != nil {
				tt.prep(e, c)
			}
			got := e.post(c, "/login", url.Values{
				"id": {id}, "csrf_token": {tt.token(e, good)}, "username": {"alice"}, "password": {alicePassword},
			}, tt.hdr...)
			if got.status != http.StatusForbidden {
				t.Fatalf("status = %d, want 403; body:\n%s", got.status, got.body)
			}
			if !strings.Contains(got.body, en(formDetail)) || got.header.Get("Content-Security-Policy") == "" {
				t.Errorf("403 is not the readable error page:\n%s", got.body)
			}
			if e.fake.calls() != 0 {
				t.Error("password was checked despite the CSRF failure")
			}
			if e.sessionCookie(c) != "" || len(e.userSessions("u-alice")) != 0 || e.authRequest(id).Authenticated() {
				t.Error("CSRF failure still signed the user in")
			}
		})
	}
}

func TestLoginRotatesSession(t *testing.T) {
	tests := []struct {
		name    string
		initial func(e *testEnv, c *http.Client) (cookie string, sessionID string)
		// renewed: the same user's live session keeps its ID (sid) and gets
		// a new cookie value and AuthTime; otherwise the old one is revoked.
		renewed bool
	}{
		{
			name:    "same user's session is renewed in place",
			renewed: true,
			initial: func(e *testEnv, c *http.Client) (string, string) {
				if p := e.login(c, e.newRequest(), "alice", alicePassword); p.status != http.StatusSeeOther {
					e.t.Fatalf("first login: %d", p.status)
				}
				v := e.sessionCookie(c)
				s, err := e.store.GetSessionByTokenHash(context.Background(), storage.HashToken(v))
				e.must(err)
				return v, s.ID
			},
		},
		{
			name: "attacker-chosen cookie is replaced",
			initial: func(e *testEnv, c *http.Client) (string, string) {
				v := storage.NewToken()
				e.setCookie(c, e.h.sessions.CookieName(), v)
				return v, ""
			},
		},
		{
			name: "another user's session is revoked (bob after alice)",
			initial: func(e *testEnv, c *http.Client) (string, string) {
				e.addUser("u-bob", "bob", "plain:"+alicePassword, false)
				if p := e.login(c, e.newRequest(), "bob", alicePassword); p.status != http.StatusSeeOther {
					e.t.Fatalf("bob login: %d", p.status)
				}
				v := e.sessionCookie(c)
				s, err := e.store.GetSessionByTokenHash(context.Background(), storage.HashToken(v))
				e.must(err)
				return v, s.ID
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, true)
			c := e.browser()
			oldValue, oldID := tt.initial(e, c)
			e.clock.Advance(5 * time.Minute)

			id := e.newRequest()
			if p := e.login(c, id, "alice", alicePassword); p.status != http.StatusSeeOther {
				t.Fatalf("login: %d", p.status)
			}
			newValue := e.sessionCookie(c)
			if newValue == "" || newValue == oldValue {
				t.Fatalf("session cookie not renewed: old %q new %q", oldValue, newValue)
			}
			ar := e.authRequest(id)
			switch {
			case tt.renewed:
				s, err := e.store.GetSession(context.Background(), oldID)
				e.must(err)
				if ar.SessionID != oldID || !s.RevokedAt.IsZero() || !s.AuthTime.Equal(e.clock.Now()) {
					t.Errorf("session not renewed in place: request bound to %s, session %+v", ar.SessionID, s)
				}
			case ar.SessionID == oldID:
				t.Error("auth request bound to the old session")
			case oldID != "":
				old, err := e.store.GetSession(context.Background(), oldID)
				e.must(err)
				if old.RevokedAt.IsZero() {
					t.Error("previous session not revoked")
				}
			}
			// Replaying the old cookie gives no session.
			r := e.requestFor(e.browser())
			r.AddCookie(&http.Cookie{Name: e.h.sessions.CookieName(), Value: oldValue})
			if s, err := e.h.sessions.Current(r); s != nil || err != nil {
				t.Errorf("old cookie still works: %+v, %v", s, err)
			}
		})
	}
}

func TestLoginBadRequests(t *testing.T) {
	tests := []struct {
		name     string
		id       func(e *testEnv) string
		wantText string
	}{
		{name: "missing id", id: func(*testEnv) string { return "" }, wantText: en(expiredDetail)},
		{name: "unknown id", id: func(*testEnv) string { return storage.NewID() }, wantText: en(expiredDetail)},
		{name: "expired request", id: func(e *testEnv) string {
			id := e.newRequest()
			e.clock.Advance(11 * time.Minute)
			return id
		}, wantText: en(expiredDetail)},
		{name: "disabled client", id: func(e *testEnv) string {
			ctx := context.Background()
			_, err := e.store.UpdateClient(ctx, "app", func(cl *storage.Client) error { cl.Disabled = true; return nil })
			e.must(err)
			return e.newRequest()
		}, wantText: en(expiredDetail)},
		{name: "code already issued", id: func(e *testEnv) string {
			id := e.newRequest()
			e.must(e.store.IssueAuthCode(context.Background(), id, storage.HashToken("code"), e.clock.Now().Add(time.Minute)))
			return id
		}, wantText: en(completedDet)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c := e.browser()
			valid := e.newRequest()
			token := csrf(t, e.get(c, e.h.SignInURL(valid)))
			id := tt.id(e)

			for _, got := range []page{
				e.get(c, "/login?id="+url.QueryEscape(id)),
				e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {token}, "username": {"alice"}, "password": {alicePassword}}),
			} {
				if got.status != http.StatusBadRequest {
					t.Errorf("status = %d, want 400", got.status)
				}
				if !strings.Contains(got.body, tt.wantText) || strings.Contains(got.body, "storage:") {
					t.Errorf("body is not the readable error page:\n%s", got.body)
				}
				if got.header.Get("Location") != "" {
					t.Errorf("error page redirects to %q", got.header.Get("Location"))
				}
			}
			if len(e.userSessions("u-alice")) != 0 {
				t.Error("session created for a bad request")
			}
		})
	}
}

func TestLoginIgnoresReturnTo(t *testing.T) {
	e := newEnv(t, false)
	c := e.browser()
	id := e.newRequest()
	token := csrf(t, e.get(c, e.h.SignInURL(id)))
	for _, target := range []string{"https://evil.test/", "//evil.test", "/\\evil.test"} {
		got := e.post(c, "/login?return_to="+url.QueryEscape(target)+"&redirect_uri="+url.QueryEscape(target)+"&id=other", url.Values{
			"id": {id}, "csrf_token": {token}, "username": {"alice"}, "password": {alicePassword},
			"return_to": {target}, "next": {target},
		})
		if want := callbackPath + "?id=" + id; got.status != http.StatusSeeOther || got.header.Get("Location") != want {
			t.Errorf("return_to=%s: %d Location %q, want 303 %q", target, got.status, got.header.Get("Location"), want)
		}
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, false)
	c := e.browser()
	id := e.newRequest(func(r *storage.AuthRequest) { r.LoginHint = "alice" })
	got := e.get(c, e.h.SignInURL(id))
	for _, want := range []string{
		"Example App", `value="alice"`, `name="id" value="` + id + `"`,
		`<label for="username">`, `<label for="password">`,
		`autocomplete="username"`, `autocomplete="current-password"`, `action="/login"`, `method="post"`,
	} {
		if !strings.Contains(got.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(got.body, "<script") {
		t.Error("login page contains a script; it must work without JavaScript")
	}
	// The session cookie is never shown to the page.
	if got.resp.Request.URL.RawQuery != "id="+id {
		t.Errorf("unexpected query %q", got.resp.Request.URL.RawQuery)
	}
}

func TestLoginRehashesOutdatedHash(t *testing.T) {
	e := newEnv(t, false)
	e.addUser("u-old", "olduser", "old:"+alicePassword, false)
	if p := e.login(e.browser(), e.newRequest(), "olduser", alicePassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.status)
	}
	u, err := e.store.GetUser(context.Background(), "u-old")
	e.must(err)
	if u.PasswordHash != "plain:"+alicePassword {
		t.Errorf("hash = %q, want the rehashed value", u.PasswordHash)
	}
}

// racingHasher is fakeHasher whose Hash first runs during, as an
// administrator's change that lands while a sign-in computes the new hash.
type racingHasher struct {
	fakeHasher
	during func()
}

func (r *racingHasher) Hash(password string) (string, error) {
	r.during()
	return r.fakeHasher.Hash(password)
}

// TestLoginRehashKeepsConcurrentAdminChange: the sign-in path's rehash
// writes only over the hash it verified (issue 12), so an administrator's
// password reset or disable made during the sign-in is never undone.
func TestLoginRehashKeepsConcurrentAdminChange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(*storage.User)
		wantHash string
	}{
		{"password reset", func(u *storage.User) { u.PasswordHash = "plain:the administrator's new one" }, "plain:the administrator's new one"},
		{"disable", func(u *storage.User) { u.Disabled = true }, "plain:" + alicePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *testEnv
			h := &racingHasher{during: func() {
				_, err := e.store.UpdateUser(context.Background(), "u-old", func(u *storage.User) error { tc.change(u); return nil })
				e.must(err)
			}}
			e = newEnv(t, false, func(c *Config) { c.Hasher = h })
			e.addUser("u-old", "olduser", "old:"+alicePassword, false)
			e.login(e.browser(), e.newRequest(), "olduser", alicePassword)
			u, err := e.store.GetUser(context.Background(), "u-old")
			e.must(err)
			if u.PasswordHash != tc.wantHash || u.Disabled != (tc.name == "disable") {
				t.Errorf("after the sign-in: hash %q, disabled %v; want %q and the administrator's change kept",
					u.PasswordHash, u.Disabled, tc.wantHash)
			}
		})
	}
}
