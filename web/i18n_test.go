package web

import (
	"context"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/i18n"
)

// getWith is get with extra request headers (name, value, …).
func (e *testEnv) getWith(c *http.Client, path string, hdr ...string) page {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	e.must(err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	e.must(err)
	return readPage(e.t, resp)
}

var htmlLang = regexp.MustCompile(`<html lang="([^"]+)"`)

func pageLang(p page) string {
	m := htmlLang.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func withUILocales(tags ...string) func(*storage.AuthRequest) {
	return func(r *storage.AuthRequest) { r.UILocales = tags }
}

// switchTo follows the language switch on a page back to the page.
func (e *testEnv) switchTo(c *http.Client, lang, next string) {
	e.t.Helper()
	p := e.get(c, "/lang?"+url.Values{"lang": {lang}, "next": {next}}.Encode())
	if p.status != http.StatusSeeOther || p.header.Get("Location") != next {
		e.t.Fatalf("switch: %d to %q, want 303 to %q", p.status, p.header.Get("Location"), next)
	}
}

func TestLocaleChoice(t *testing.T) {
	tests := []struct {
		name     string
		ui       []string
		accept   string
		pick     string // language picked with the switch after the request
		def      string // configured default_locale
		wantLang string
	}{
		{name: "nothing: English", wantLang: "en"},
		{name: "configured default", def: "ja", wantLang: "ja"},
		{name: "ui_locales ja", ui: []string{"ja"}, wantLang: "ja"},
		{name: "ui_locales first supported wins", ui: []string{"fr", "ja-JP", "en"}, wantLang: "ja"},
		{name: "ui_locales unsupported only", ui: []string{"fr"}, accept: "ja", wantLang: "ja"},
		{name: "ui_locales before Accept-Language", ui: []string{"en"}, accept: "ja", wantLang: "en"},
		{name: "accept-language with q", accept: "ja-JP,ja;q=0.9,en;q=0.8", wantLang: "ja"},
		{name: "accept-language quality order", accept: "en;q=0.5, ja;q=0.8", wantLang: "ja"},
		{name: "accept-language unsupported", accept: "fr, de;q=0.5", def: "ja", wantLang: "ja"},
		{name: "accept-language q=0 excluded", accept: "ja;q=0, en;q=0.1", wantLang: "en"},
		{name: "switch overrides ui_locales", ui: []string{"ja"}, pick: "en", wantLang: "en"},
		{name: "switch overrides accept-language", accept: "ja", pick: "en", wantLang: "en"},
		{name: "switch to ja", accept: "en", pick: "ja", wantLang: "ja"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false, func(c *Config) { c.Appearance.DefaultLocale = tt.def })
			c := e.browser()
			id := e.newRequest(withUILocales(tt.ui...))
			path := e.h.SignInURL(id)
			if tt.pick != "" {
				e.switchTo(c, tt.pick, path)
			}
			p := e.getWith(c, path, "Accept-Language", tt.accept)
			if p.status != http.StatusOK || pageLang(p) != tt.wantLang || p.header.Get("Content-Language") != tt.wantLang {
				t.Fatalf("status %d, <html lang=%q>, Content-Language %q; want %s", p.status, pageLang(p),
					p.header.Get("Content-Language"), tt.wantLang)
			}
		})
	}
}

func TestLanguageSwitchRedirectsOnlyToLocalPaths(t *testing.T) {
	e := newEnv(t, false)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "login"} {
		p := e.get(e.browser(), "/lang?"+url.Values{"lang": {"ja"}, "next": {next}}.Encode())
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
			t.Errorf("next %q: %d to %q, want 303 to /", next, p.status, p.header.Get("Location"))
		}
	}
	p := e.get(e.browser(), "/lang?lang=xx&next=/logged-out")
	if p.header.Get("Location") != "/logged-out" || p.header.Get("Set-Cookie") != "" {
		t.Errorf("unsupported language: %q, cookie %q", p.header.Get("Location"), p.header.Get("Set-Cookie"))
	}
}

// TestJapaneseSignIn walks the sign-in round trip in Japanese, chosen by
// ui_locales and by Accept-Language: sign-in page, wrong password, the
// Japanese error, right password, the Japanese consent page, then the
// callback (where op issues the code).
func TestJapaneseSignIn(t *testing.T) {
	ja := func(key string) string { m, _ := i18n.Catalogs().Message("ja", key); return m }
	tests := []struct {
		name   string
		ui     []string
		accept string
	}{
		{name: "ui_locales=ja", ui: []string{"ja"}},
		{name: "Accept-Language ja-JP", accept: "ja-JP,ja;q=0.9,en;q=0.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c := e.browser()
			id := e.newRequest(withUILocales(tt.ui...))
			p := e.getWith(c, e.h.SignInURL(id), "Accept-Language", tt.accept)
			if pageLang(p) != "ja" || !strings.Contains(p.body, ja("login.password")) {
				t.Fatalf("sign-in page is not Japanese:\n%s", p.body)
			}
			form := url.Values{"id": {id}, "csrf_token": {csrf(t, p)}, "username": {"alice"}, "password": {"wrong"}}
			p = e.post(c, "/login", form, "Accept-Language", tt.accept)
			if p.status != http.StatusUnauthorized || pageLang(p) != "ja" || !strings.Contains(p.body, ja(badCredentials)) {
				t.Fatalf("wrong password: %d, lang %q:\n%s", p.status, pageLang(p), p.body)
			}
			form.Set("csrf_token", csrf(t, p))
			form.Set("password", alicePassword)
			p = e.post(c, "/login", form, "Accept-Language", tt.accept)
			if p.status != http.StatusSeeOther {
				t.Fatalf("right password: %d\n%s", p.status, p.body)
			}
			p = e.getWith(c, e.h.ConsentURL(id), "Accept-Language", tt.accept)
			if pageLang(p) != "ja" || !strings.Contains(p.body, ja("consent.approve")) {
				t.Fatalf("consent page is not Japanese:\n%s", p.body)
			}
			p = e.post(c, "/consent", url.Values{"id": {id}, "csrf_token": {csrf(t, p)}, "action": {"approve"}},
				"Accept-Language", tt.accept)
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), callbackPath) {
				t.Fatalf("approve: %d to %q", p.status, p.header.Get("Location"))
			}
			if !e.authRequest(id).ConsentGranted {
				t.Error("consent not recorded")
			}
		})
	}
}

// errorRoute renders any error page by its keys over HTTP, for the pages
// op renders through Fail.
const errorRoute = "/test-error"

// TestEveryPageInBothLanguages renders every page and error page in
// English and Japanese over HTTP and fails on an untranslated key, a key
// missing from a catalog, a catalog entry no code uses, and English left
// in a Japanese page.
func TestEveryPageInBothLanguages(t *testing.T) {
	cat := i18n.Catalogs()
	if got := cat.Supported(); !slices.Equal(got, []string{"en", "ja"}) {
		t.Fatalf("supported = %v", got)
	}
	used := keysInSource(t)
	for _, k := range cat.Keys() {
		if strings.HasPrefix(k, "lang.") && cat.Supports(strings.TrimPrefix(k, "lang.")) {
			continue // the switch names every language by key
		}
		if !used[k] {
			t.Errorf("catalog entry %q is used by no page", k)
		}
	}
	for k := range used {
		if _, ok := cat.Message("en", k); !ok {
			t.Errorf("key %q is used but missing from the catalogs", k)
		}
	}

	for _, lang := range cat.Supported() {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t, false, withMail, withDeviceFlow, withRegistration)
			e.srvMux().HandleFunc("GET "+errorRoute, func(w http.ResponseWriter, r *http.Request) {
				e.h.Fail(w, r, &PublicError{Status: http.StatusBadRequest, Title: r.URL.Query().Get("title"), Detail: r.URL.Query().Get("detail")})
			})
			e.srvMux().HandleFunc("GET /test-logout", func(w http.ResponseWriter, r *http.Request) {
				cl, _ := e.store.GetClient(r.Context(), "app")
				e.h.ConfirmLogout(w, r, cl, "", "st")
			})
			c := e.browser()
			e.switchTo(c, lang, "/logged-out")
			pages := map[string]page{}
			id := e.newRequest()
			pages["login"] = e.get(c, e.h.SignInURL(id))
			pages["login-error"] = e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {csrf(t, pages["login"])},
				"username": {"alice"}, "password": {"wrong"}})
			pages["login-empty"] = e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {csrf(t, pages["login"])}})
			pages["form-expired"] = e.post(c, "/login", url.Values{"id": {id}})
			cc, cid := signedIn(t, e)
			e.switchTo(cc, lang, "/logged-out")
			pages["consent"] = e.get(cc, e.h.ConsentURL(cid))
			pages["select-account"] = e.get(cc, e.h.SelectAccountURL(e.newRequest()))
			// The second factor (issue 17): the enrolment a request
			// needing multi-factor shows, a wrong code, the security page.
			fc := e.browser()
			e.switchTo(fc, lang, "/logged-out")
			fid := e.newRequest(func(r *storage.AuthRequest) { r.ACR = acr.MFA })
			e.login(fc, fid, "alice", alicePassword)
			pages["factor-enrol"] = e.get(fc, factorPath+"?id="+url.QueryEscape(fid))
			pages["factor-error"] = e.post(fc, factorPath, url.Values{"id": {fid}, "csrf_token": {csrf(t, pages["factor-enrol"])},
				"code": {"000000"}})
			if p := pages["factor-enrol"]; p.status != http.StatusOK || !strings.Contains(p.body, "<svg") {
				t.Fatalf("factor enrolment page: %d\n%s", p.status, p.body)
			}
			pages["security"] = e.get(cc, securityPath)
			pages["security-enrol"] = e.post(cc, securityPath+"/totp", url.Values{"csrf_token": {csrf(t, pages["security"])}})
			pages["security-bad-code"] = e.post(cc, securityPath+"/totp/confirm", url.Values{
				"csrf_token": {csrf(t, pages["security"])}, "code": {"000000"}})
			for name, want := range map[string]int{"factor-error": http.StatusUnauthorized, "security": http.StatusOK,
				"security-enrol": http.StatusOK, "security-bad-code": http.StatusUnprocessableEntity} {
				if pages[name].status != want {
					t.Fatalf("%s: status %d, want %d\n%s", name, pages[name].status, want, pages[name].body)
				}
			}
			pages["logout"] = e.get(c, "/test-logout")
			pages["logged-out"] = e.get(c, "/logged-out")
			for k, p := range devicePages(t, e, cc) {
				pages[k] = p
			}
			for _, k := range cat.Keys() {
				if !strings.HasPrefix(k, "error.") || !strings.HasSuffix(k, ".detail") {
					continue
				}
				title := strings.TrimSuffix(k, ".detail") + ".title"
				if _, ok := cat.Message("en", title); !ok {
					title = "error.invalid_form.title"
				}
				pages[k] = e.get(c, errorRoute+"?"+url.Values{"title": {title}, "detail": {k}}.Encode())
			}
			maps.Copy(pages, accountPages(t, e, cc)) // before the reset ends alice's sessions
			maps.Copy(pages, registerPages(t, e, c))
			maps.Copy(pages, recoveryPages(t, e, c))
			maps.Copy(pages, passkeyFactorPages(t, lang))
			maps.Copy(pages, federationPages(t, lang)) // issue 18
			for name, p := range pages {
				// The reset mail shows its link (without its token here) as text too.
				checkPageLanguage(t, name, lang, p, "Example App", "Alice", "alice", "custom:read", "reset?token",
					"verify?token", "ja-JP", "example.com")
			}
		})
	}
}

// checkPageLanguage fails when p is not in lang, shows a missing key, or,
// in Japanese, holds a run of English words other than the allowed names.
func checkPageLanguage(t *testing.T, name, lang string, p page, allowed ...string) {
	t.Helper()
	if got := pageLang(p); got != lang {
		t.Errorf("%s: <html lang=%q>, want %s", name, got, lang)
	}
	if strings.Contains(p.body, i18n.MissingPrefix) {
		t.Errorf("%s: untranslated key:\n%s", name, p.body)
	}
	if lang != "ja" {
		if len(EnglishRuns(p.body)) == 0 { // the detector itself must see English
			t.Errorf("%s: no English found in the English page:\n%s", name, p.body)
		}
		return
	}
	if words := EnglishRuns(p.body, allowed...); len(words) > 0 {
		t.Errorf("%s: English left in the Japanese page: %q", name, words)
	}
}

var (
	tagOrScript = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<code>.*?</code>|<[^>]*>`)
	englishRun  = regexp.MustCompile(`[A-Za-z][A-Za-z'’]+(?:[ ,.:;!?-]+[A-Za-z][A-Za-z'’]+)+`)
	// names every page may show as they are: the product, the language
	// switch's "English", and code-like terms kept in Latin letters in
	// Japanese technical writing.
	alwaysAllowed = []string{"monban", "English"}
)

// EnglishRuns returns the runs of two or more Latin-letter words in the
// visible text of an HTML page, after removing the allowed names.
func EnglishRuns(body string, allowed ...string) []string {
	text := html.UnescapeString(tagOrScript.ReplaceAllString(body, " ") + " " + attrText(body))
	for _, a := range append(allowed, alwaysAllowed...) {
		text = strings.ReplaceAll(text, a, " ")
	}
	return englishRun.FindAllString(text, -1)
}

// keysInSource returns the catalog keys written as string literals in the
// non-test Go and templ sources of web, op, cmd/monban and the storage
// policies (whose problems carry catalog codes).
func keysInSource(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, k := range i18n.Catalogs().Keys() {
		keys[k] = false
	}
	literal := regexp.MustCompile(`"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)
	used := map[string]bool{}
	for _, dir := range []string{".", "admin", "view", "i18n", "../op", "../cmd/monban", "../cmd/internal/app",
		"../storage/userpolicy", "../storage/clientpolicy", "../storage/password"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") ||
				!(strings.HasSuffix(f, ".go") || strings.HasSuffix(f, ".templ")) {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
				if _, isKey := keys[m[1]]; isKey || looksLikeKey(m[1]) {
					used[m[1]] = true
				}
			}
		}
	}
	return used
}

// looksLikeKey reports whether a literal is in a catalog namespace.
func looksLikeKey(s string) bool {
	for _, p := range []string{"error.", "login.", "consent.", "select_account.", "logout.", "loggedout.", "scope.", "layout.", "admin.", "time.",
		"factor.", "security.", "passkey.", "account.", "verify.", "register.", "policy."} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// srvMux is the mux the test server serves.
func (e *testEnv) srvMux() *http.ServeMux { return e.srv.Config.Handler.(*http.ServeMux) }

func TestFailFromOutsideIsLocalized(t *testing.T) {
	e := newEnv(t, false)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/authorize", nil).WithContext(context.Background())
	r.Header.Set("Accept-Language", "ja")
	e.h.Fail(w, r, &PublicError{Status: http.StatusBadRequest, Title: "error.unknown_client.title", Detail: "error.unknown_client.detail"})
	ja, _ := i18n.Catalogs().Message("ja", "error.unknown_client.title")
	if body := w.Body.String(); !strings.Contains(body, ja) || !strings.Contains(body, `<html lang="ja"`) {
		t.Errorf("op's error page is not Japanese:\n%s", body)
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
