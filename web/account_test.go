package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// verifyToken claims the one queued mail and returns its token.
func verifyToken(t *testing.T, e *testEnv) (string, *storage.Mail) {
	t.Helper()
	ms, err := e.store.MailOutbox().Claim(t.Context(), e.clock.Now().Add(time.Hour), time.Minute, 10)
	e.must(err)
	if len(ms) != 1 {
		t.Fatalf("%d mails queued, want 1", len(ms))
	}
	m := ms[0]
	e.must(e.store.MailOutbox().Complete(t.Context(), m.ID, m.Attempts))
	raw := strings.Fields(m.Text[strings.Index(m.Text, "token=")+len("token="):])[0]
	token, err := url.QueryUnescape(raw)
	e.must(err)
	return token, m
}

// accountPages renders every page of the account and the e-mail
// verification in c's language; c is signed in as alice.
func accountPages(t *testing.T, e *testEnv, c *http.Client) map[string]page {
	t.Helper()
	ctx := t.Context()
	_, err := e.store.UpdateUser(ctx, "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	pages := map[string]page{}
	pages["account"] = e.get(c, accountPath)
	tok := csrf(t, pages["account"])
	pages["account-profile-error"] = e.post(c, accountPath+"/profile", url.Values{"csrf_token": {tok}, "website": {"javascript:x"}})
	pages["account-password-wrong"] = e.post(c, accountPath+"/password", url.Values{"csrf_token": {tok},
		"current": {"wrong"}, "password": {"a new long passphrase"}, "confirm": {"a new long passphrase"}})
	if p := e.post(c, accountPath+"/email", url.Values{"csrf_token": {tok}, "email": {"new@example.com"}}); p.status != http.StatusSeeOther {
		t.Fatalf("change e-mail: %d\n%s", p.status, p.body)
	}
	pages["account-mail-sent"] = e.get(c, accountPath+"?done=mail")
	token, m := verifyToken(t, e)
	pages["mail-verify"] = page{status: http.StatusOK, body: strings.ReplaceAll(m.HTML, url.QueryEscape(token), "")}
	pages["verify-done"] = e.get(c, VerifyPath+"?token="+url.QueryEscape(token))
	pages["verify-used"] = e.get(c, VerifyPath+"?token="+url.QueryEscape(token))
	_, notice := verifyTokenless(t, e)
	if notice.To != "alice@example.com" || notice.Kind != "email_changed" {
		t.Errorf("notice to %q kind %q, want the old address told of the change", notice.To, notice.Kind)
	}
	e.must(e.store.MailOutbox().Complete(ctx, notice.ID, notice.Attempts))
	pages["mail-email-changed"] = page{status: http.StatusOK, body: notice.HTML}
	e.clock.Advance(recentSignIn + time.Minute)
	pages["account-fresh"] = e.post(c, accountPath+"/profile", url.Values{"csrf_token": {tok}, "name": {"A"}})
	// Someone who signs in only upstream (issue 18) has no password to change.
	_, err = e.store.UpdateUser(ctx, "u-alice", func(u *storage.User) error { u.PasswordHash = ""; return nil })
	e.must(err)
	pages["account-no-password"] = e.get(c, accountPath)
	return pages
}

func TestAccountPages(t *testing.T) {
	e := newEnv(t, false, withMail)
	c, _ := signedIn(t, e)
	pages := accountPages(t, e, c)
	for name, want := range map[string]int{"account": 200, "account-profile-error": 400, "account-password-wrong": 401,
		"account-mail-sent": 200, "verify-done": 200, "verify-used": 400, "account-fresh": 403, "account-no-password": 200} {
		if pages[name].status != want {
			t.Errorf("%s: status %d, want %d\n%s", name, pages[name].status, want, pages[name].body)
		}
	}
	// The session list names where each session was signed in from: the
	// client address and the browser (issue 16 item 5).
	for _, want := range []string{"127.0.0.1", "<code>Go-http-client/1.1</code>"} {
		if !strings.Contains(pages["account"].body, want) {
			t.Errorf("account page lacks %s:\n%s", want, pages["account"].body)
		}
	}
	if !strings.Contains(pages["account"].body, `action="/account/password"`) {
		t.Error("account page without the password form for a user with a password")
	}
	if body := pages["account-no-password"].body; strings.Contains(body, `action="/account/password"`) || !strings.Contains(body, "has no password here") {
		t.Errorf("account page of a user without a password offers to change it:\n%s", body)
	}
	u, err := e.store.GetUser(t.Context(), "u-alice")
	e.must(err)
	if u.Email != "new@example.com" || !u.EmailVerified {
		t.Errorf("after the link: email %q verified %v", u.Email, u.EmailVerified)
	}
}

// verifyTokenless claims the one queued mail.
func verifyTokenless(t *testing.T, e *testEnv) (int, *storage.Mail) {
	t.Helper()
	ms, err := e.store.MailOutbox().Claim(t.Context(), e.clock.Now().Add(time.Hour), time.Minute, 10)
	e.must(err)
	if len(ms) != 1 {
		t.Fatalf("%d mails queued, want 1", len(ms))
	}
	return len(ms), ms[0]
}

func TestAccountRefusals(t *testing.T) {
	e := newEnv(t, false, withMail)
	tests := []struct {
		name   string
		do     func(c *http.Client) page
		status int
	}{
		{"signed out GET goes to sign-in", func(c *http.Client) page { return e.get(c, accountPath) }, http.StatusSeeOther},
		{"signed out POST refused", func(c *http.Client) page {
			return e.post(c, accountPath+"/sessions/end-others", url.Values{"csrf_token": {"x"}})
		}, http.StatusForbidden},
		{"wrong link", func(c *http.Client) page { return e.get(c, VerifyPath+"?token=nope") }, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if p := tc.do(e.browser()); p.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tc.status, p.body)
			}
		})
	}
	// A link of alice's followed in bob's browser changes nothing.
	c, _ := signedIn(t, e)
	tok := csrf(t, e.get(c, accountPath))
	_, err := e.store.UpdateUser(t.Context(), "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	e.post(c, accountPath+"/email/verify", url.Values{"csrf_token": {tok}})
	token, _ := verifyToken(t, e)
	e.addUser("u-bob", "bob", "plain:"+alicePassword, false)
	bc := e.browser()
	if p := e.login(bc, e.newRequest(), "bob", alicePassword); p.status != http.StatusSeeOther {
		t.Fatalf("bob login: %d", p.status)
	}
	if p := e.get(bc, VerifyPath+"?token="+url.QueryEscape(token)); p.status != http.StatusBadRequest {
		t.Fatalf("other account's link: %d", p.status)
	}
	if u, _ := e.store.GetUser(t.Context(), "u-alice"); u.EmailVerified {
		t.Fatal("verified through another account's browser")
	}
}

// A password change needs the current password, keeps this browser's
// session, ends the others, and mails a notice; the profile form writes
// the claims it offers and both are audited.
func TestAccountPasswordAndProfile(t *testing.T) {
	e := newEnv(t, false, withMail)
	ctx := t.Context()
	_, err := e.store.UpdateUser(ctx, "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	c, _ := signedIn(t, e)
	other, _ := signedIn(t, e)
	tok := csrf(t, e.get(c, accountPath))
	const newPassword = "a completely new passphrase"
	tests := []struct {
		name         string
		current, pw  string
		confirm      string
		status       int
		wantSessions int
	}{
		{"wrong current password", "wrong", newPassword, newPassword, http.StatusUnauthorized, 2},
		{"confirmation differs", alicePassword, newPassword, "other", http.StatusBadRequest, 2},
		{"too weak", alicePassword, "short", "short", http.StatusBadRequest, 2},
		{"changed", alicePassword, newPassword, newPassword, http.StatusSeeOther, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.post(c, accountPath+"/password", url.Values{"csrf_token": {tok}, "current": {tc.current},
				"password": {tc.pw}, "confirm": {tc.confirm}})
			if p.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tc.status, p.body)
			}
			live := 0
			for _, s := range e.userSessions("u-alice") {
				if e.h.sessions.Live(s, e.clock.Now()) {
					live++
				}
			}
			if live != tc.wantSessions {
				t.Fatalf("%d live sessions, want %d", live, tc.wantSessions)
			}
		})
	}
	if p := e.get(c, accountPath); p.status != http.StatusOK {
		t.Fatalf("this browser lost its session: %d", p.status)
	}
	if p := e.get(other, accountPath); p.status != http.StatusSeeOther {
		t.Fatalf("the other browser is still signed in: %d", p.status)
	}
	if _, m := verifyTokenless(t, e); m.Kind != "password_changed" || m.To != "alice@example.com" {
		t.Fatalf("notice %q to %q", m.Kind, m.To)
	}

	p := e.post(c, accountPath+"/profile", url.Values{"csrf_token": {tok}, "name": {"Alice Liddell"},
		"nickname": {"Al"}, "zoneinfo": {"Asia/Tokyo"}, "website": {"https://alice.example"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("profile: %d\n%s", p.status, p.body)
	}
	u, err := e.store.GetUser(ctx, "u-alice")
	e.must(err)
	if u.Name != "Alice Liddell" || u.Nickname != "Al" || u.Zoneinfo != "Asia/Tokyo" || u.Website != "https://alice.example" {
		t.Fatalf("profile stored: %+v", u)
	}
	all, err := e.store.ListAudit(ctx, storage.AuditFilter{}, 0, 1000)
	e.must(err)
	seen := map[string]bool{}
	for _, a := range all {
		seen[a.Action] = true
	}
	for _, want := range []string{storage.ActionAccountPassword, storage.ActionAccountProfile} {
		if !seen[want] {
			t.Errorf("no %s audit entry", want)
		}
	}
	// The page's own sign-out button ends this browser's session.
	page := e.get(c, accountPath)
	if !strings.Contains(page.body, `action="/logout"`) {
		t.Fatal("no sign-out form on the account page")
	}
	if p := e.post(c, "/logout", url.Values{"csrf_token": {csrf(t, page)}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := e.get(c, accountPath); p.status != http.StatusSeeOther {
		t.Fatalf("still signed in after signing out: %d", p.status)
	}
}
