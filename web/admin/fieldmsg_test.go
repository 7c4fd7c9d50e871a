package admin_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/web/i18n"
)

// addressRE finds URIs and e-mail addresses in a page.
var addressRE = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s<"&]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+`)

// TestRefusedFormsSpeakThePagesLanguage: a client or user form refused by
// the policies shows each problem in the page's language, next to its
// field. In Japanese no English sentence is left, in English the
// policy's rule is readable.
func TestRefusedFormsSpeakThePagesLanguage(t *testing.T) {
	cases := []struct {
		name, path string
		form       url.Values
		want       map[string]string // language → a phrase of the expected problem
	}{
		{"client with http redirect URI", "/admin/clients/new", url.Values{"type": {"web"}, "id": {"shop"}, "name": {"Shop"},
			"redirect_uris": {"http://shop.example/cb"}, "scopes": {"openid"}},
			map[string]string{"en": "must use https", "ja": "https を使用してください"}},
		{"client with many problems", "/admin/clients/new", url.Values{"type": {"web"}, "id": {"a b"}, "name": {""},
			"redirect_uris": {"https://shop.example/cb#x\nhttps://*.example/cb"}, "scopes": {`openid a"b`},
			"access_ttl": {"soon"}, "allowed_groups": {"nobody"}},
			map[string]string{"en": "must not contain wildcards", "ja": "ワイルドカード"}},
		{"client with an unknown type", "/admin/clients/new", url.Values{"type": {"tv"}, "id": {"shop"}, "name": {"Shop"},
			"redirect_uris": {"https://shop.example/cb"}, "scopes": {"openid"}},
			map[string]string{"en": "Choose one of the client types", "ja": "クライアントの種類を選んでください"}},
		{"user with a short password", "/admin/users/new", url.Values{"username": {"carol"}, "password": {"short one"}},
			map[string]string{"en": "use at least 15", "ja": "15文字以上にしてください"}},
		{"user with a space in the username", "/admin/users/new", url.Values{"username": {"carol smith"},
			"password": {"a long enough pass phrase"}, "email": {"carol"}},
			map[string]string{"en": "Do not use spaces", "ja": "空白や制御文字は使用できません"}},
		{"password set to a common one", "/admin/users/u-bob/password", url.Values{"password": {"000000000000123"}},
			map[string]string{"en": "commonly used passwords", "ja": "よく使われるパスワード"}},
	}
	for _, lang := range i18n.Catalogs().Supported() {
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				admin := e.browser("u-admin")
				u, _ := url.Parse(e.srv.URL)
				admin.Jar.SetCookies(u, []*http.Cookie{{Name: "monban_lang", Value: lang, Path: "/"}})
				form := url.Values{"csrf_token": {e.csrf(admin)}}
				for k, v := range tc.form {
					form[k] = v
				}
				p := e.do(admin, "POST", tc.path, form)
				if p.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422:\n%.800s", p.status, p.body)
				}
				if !strings.Contains(p.body, tc.want[lang]) {
					t.Errorf("the page does not say %q:\n%s", tc.want[lang], p.body)
				}
				if strings.Contains(p.body, i18n.MissingPrefix) || strings.Contains(p.body, "&lt;no value&gt;") {
					t.Errorf("untranslated or unfilled message:\n%s", p.body)
				}
				// What the administrator typed, URIs and e-mail addresses are
				// names, not sentences.
				body := addressRE.ReplaceAllString(p.body, " ")
				for _, v := range tc.form {
					for _, l := range strings.Split(v[0], "\n") {
						body = strings.ReplaceAll(body, l, " ")
					}
				}
				if runs := englishRuns(body); lang == "ja" && len(runs) > 0 {
					t.Errorf("English left in the Japanese page: %q", runs)
				}
			})
		}
	}
}
