package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func withMail(c *Config) { c.Mail.Enabled = true }

// recoveryPages renders every page of the forgotten-password flow (and
// the reset mail, as a page) in the browser c's language.
func recoveryPages(t *testing.T, e *testEnv, c *http.Client) map[string]page {
	t.Helper()
	ctx := t.Context()
	_, err := e.store.UpdateUser(ctx, "u-alice", func(u *storage.User) error { u.Email = "alice@example.com"; return nil })
	e.must(err)
	pages := map[string]page{}
	pages["forgot"] = e.get(c, ForgotPath)
	pages["forgot-invalid"] = e.post(c, ForgotPath, url.Values{"csrf_token": {csrf(t, pages["forgot"])}, "identifier": {"a\r\nb"}})
	pages["forgot-sent"] = e.post(c, ForgotPath, url.Values{"csrf_token": {csrf(t, pages["forgot"])}, "identifier": {"alice"}})
	ms, err := e.store.MailOutbox().Claim(ctx, e.clock.Now().Add(time.Hour), time.Minute, 10)
	e.must(err)
	if len(ms) != 1 {
		t.Fatalf("%d mails queued, want 1", len(ms))
	}
	pages["link-invalid"] = e.get(c, ResetPath+"?token=wrong")
	token := strings.Fields(ms[0].Text[strings.Index(ms[0].Text, "token=")+len("token="):])[0]
	// The random token may look like an English word: the language check
	// sees the mail without its link.
	pages["mail-reset"] = page{status: http.StatusOK, body: strings.ReplaceAll(ms[0].HTML, token, "")}
	token, _ = url.QueryUnescape(token)
	pages["reset"] = e.get(c, ResetPath+"?token="+url.QueryEscape(token))
	pages["reset-mismatch"] = e.post(c, ResetPath, url.Values{"csrf_token": {csrf(t, pages["reset"])}, "token": {token},
		"password": {"one long new passphrase"}, "confirm": {"another"}})
	pages["reset-weak"] = e.post(c, ResetPath, url.Values{"csrf_token": {csrf(t, pages["reset"])}, "token": {token},
		"password": {"short one"}, "confirm": {"short one"}})
	pages["reset-done"] = e.post(c, ResetPath, url.Values{"csrf_token": {csrf(t, pages["reset"])}, "token": {token},
		"password": {"one long new passphrase"}, "confirm": {"one long new passphrase"}})
	return pages
}

func TestRecoveryPages(t *testing.T) {
	e := newEnv(t, false, withMail)
	c := e.browser()
	pages := recoveryPages(t, e, c)
	for name, want := range map[string]int{"forgot": 200, "forgot-invalid": 400, "forgot-sent": 200, "link-invalid": 400,
		"reset": 200, "reset-mismatch": 400, "reset-weak": 400, "reset-done": 200} {
		if pages[name].status != want {
			t.Errorf("%s: status %d, want %d", name, pages[name].status, want)
		}
	}
	// A refused password says why, in the page's language.
	if b := pages["reset-weak"].body; !strings.Contains(b, "The password has 9 characters; use at least 15.") {
		t.Errorf("the weak password's page does not say why:\n%s", b)
	}
	// The token is used up.
	if p := e.get(c, ResetPath+"?token=x"); p.status != http.StatusBadRequest {
		t.Errorf("reused link: %d", p.status)
	}
}

// An unknown account gets the same answer as a known one, and no mail.
func TestForgotNoEnumeration(t *testing.T) {
	e := newEnv(t, false, withMail)
	c := e.browser()
	form := e.get(c, ForgotPath)
	known := e.post(c, ForgotPath, url.Values{"csrf_token": {csrf(t, form)}, "identifier": {"alice"}})
	unknown := e.post(c, ForgotPath, url.Values{"csrf_token": {csrf(t, form)}, "identifier": {"nobody"}})
	if known.status != unknown.status || known.body != unknown.body {
		t.Fatalf("answers differ: %d vs %d", known.status, unknown.status)
	}
	// Throttled per account: the fourth request in an hour sends nothing
	// but answers the same page.
	for range 3 {
		p := e.post(c, ForgotPath, url.Values{"csrf_token": {csrf(t, form)}, "identifier": {"nobody"}})
		if p.body != known.body {
			t.Fatal("a throttled request answered differently")
		}
	}
}

// Without mail the pages are not there.
func TestRecoveryOffWithoutMail(t *testing.T) {
	e := newEnv(t, false)
	if p := e.get(e.browser(), ForgotPath); p.status != http.StatusNotFound {
		t.Fatalf("GET %s without mail = %d, want 404", ForgotPath, p.status)
	}
}
