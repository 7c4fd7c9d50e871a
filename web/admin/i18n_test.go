package admin_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
)

var (
	htmlLangRE  = regexp.MustCompile(`<html lang="([^"]+)"`)
	tagRE       = regexp.MustCompile(`(?s)<script.*?</script>|<code>.*?</code>|<[^>]*>`) // identifiers in <code> are not sentences
	englishRun  = regexp.MustCompile(`[A-Za-z][A-Za-z'’]+(?:[ ,.:;!?-]+[A-Za-z][A-Za-z'’]+)+`)
	adminAllows = []string{
		"monban", "English", // the product and the switch's own name for English
		"root", "bob", "App", "app", // the fixture's data
		"client:shop", "session:*", "YYYY-MM-DD", // formats shown as they must be typed
	}
)

// englishRuns returns the runs of Latin-letter words in a page's visible
// text, after removing the allowed names.
func englishRuns(body string) []string {
	text := html.UnescapeString(tagRE.ReplaceAllString(body, " ") + " " + attrText(body))
	for _, a := range adminAllows {
		text = strings.ReplaceAll(text, a, " ")
	}
	return englishRun.FindAllString(text, -1)
}

// TestAdminPagesInBothLanguages opens every admin page, its messages and
// its error pages in English and Japanese and fails on a missing key, a
// wrong <html lang> or, in Japanese, English left on the page.
func TestAdminPagesInBothLanguages(t *testing.T) {
	paths := []string{
		"/admin", "/admin/clients", "/admin/clients?q=zzz", "/admin/clients/new", "/admin/clients/app",
		"/admin/clients/app?saved=1", "/admin/clients/app/delete", "/admin/clients/nope", "/admin/users",
		"/admin/users/new", "/admin/users/u-bob", "/admin/users/u-bob?created=1", "/admin/users/u-admin",
		"/admin/sessions", "/admin/keys", "/admin/audit", "/admin/audit?action=signin", "/admin/audit?since=bad",
		"/admin/audit?action=nope", "/admin/users/nope",
		"/admin/signout", "/admin/users/u-bob/disable", "/admin/clients/app/rotate-secret", "/admin/clients/gone/deleted",
		"/admin/users?q=b", "/admin/users?after=bob", "/admin/users?before=root", "/admin/users/u-bob/delete",
		"/admin/sessions?user=bob", "/admin/sessions?user=nobody", "/admin/sessions?after=bad",
		"/admin/groups", "/admin/groups?after=staff", "/admin/groups/g-staff", "/admin/groups/g-staff?added=1",
		"/admin/groups/g-staff/delete", "/admin/groups/nope", "/admin/clients?after=app",
		"/admin/users/u-bob/reset-factors", "/admin/users/u-admin/reset-factors",
	}
	for _, lang := range i18n.Catalogs().Supported() {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			e.must(e.store.CreateFederatedIdentity(t.Context(), &storage.FederatedIdentity{ConnectorID: "github", Subject: "583231",
				UserID: "u-bob", CreatedAt: e.clock.Now(), LastUsedAt: e.clock.Now()}))
			check := func(name string, p page) {
				t.Helper()
				if m := htmlLangRE.FindStringSubmatch(p.body); m == nil || m[1] != lang {
					t.Errorf("%s (%d): <html lang> = %v, want %s", name, p.status, m, lang)
				}
				if strings.Contains(p.body, i18n.MissingPrefix) {
					t.Errorf("%s: untranslated key:\n%s", name, p.body)
				}
				if runs := englishRuns(p.body); lang == "ja" && len(runs) > 0 {
					t.Errorf("%s: English left in the Japanese page: %q", name, runs)
				} else if lang == "en" && len(runs) == 0 {
					t.Errorf("%s: the English detector sees no English in the English page", name)
				}
			}
			u, _ := url.Parse(e.srv.URL)
			withLang := func(c *http.Client) *http.Client {
				c.Jar.SetCookies(u, []*http.Cookie{{Name: "monban_lang", Value: lang, Path: "/"}})
				return c
			}
			admin := withLang(e.browser("u-admin"))
			for _, path := range paths {
				check(path, e.do(admin, "GET", path, nil))
			}
			check("not an administrator", e.do(withLang(e.browser("u-bob")), "GET", "/admin", nil))
			check("own account", e.do(admin, "POST", "/admin/users/u-admin/admin",
				url.Values{"csrf_token": {e.csrf(admin)}, "admin": {"0"}}))
			check("group name refused", e.do(admin, "POST", "/admin/groups", url.Values{"csrf_token": {e.csrf(admin)}, "name": {" "}}))
			check("no such member", e.do(admin, "POST", "/admin/groups/g-staff/members", url.Values{"csrf_token": {e.csrf(admin)}, "username": {"nobody"}}))
			check("profile refused", e.do(admin, "POST", "/admin/users/u-bob", url.Values{"csrf_token": {e.csrf(admin)}, "username": {"bob"}, "birthdate": {"soon"}}))
			check("link not found", e.do(admin, "POST", "/admin/users/u-bob/links/remove",
				url.Values{"csrf_token": {e.csrf(admin)}, "connector": {"github"}, "subject": {"nope"}}))
			check("session not found", e.do(admin, "POST", "/admin/sessions/nope/end", url.Values{"csrf_token": {e.csrf(admin)}}))
			check("sign-in required", e.do(withLang(e.browser("")), "POST", "/admin/users/u-bob/disable",
				url.Values{"csrf_token": {e.giveCSRF(withLang(e.browser("")))}}))
		})
	}
}

// attrRE finds the attributes a person reads or hears.
var attrRE = regexp.MustCompile(`\b(?:placeholder|aria-label|title|alt|data-label)="([^"]*)"`)

func attrText(body string) string {
	var b strings.Builder
	for _, m := range attrRE.FindAllStringSubmatch(body, -1) {
		b.WriteString(" | " + m[1])
	}
	return b.String()
}
