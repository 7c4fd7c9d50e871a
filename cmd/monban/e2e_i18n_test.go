package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
)

// headerTransport adds fixed headers to every request (a browser's
// Accept-Language).
type headerTransport struct {
	base http.RoundTripper
	hdr  http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.hdr {
		r.Header[k] = v
	}
	base := h.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// TestJapaneseRoundTrip is the sign-in round trip in Japanese, over HTTP
// with a real RP library: Japanese chosen by ui_locales and by
// Accept-Language, kept from /authorize through sign-in (a wrong password
// first) and consent to the code; the switch on the page overrides both.
// Discovery lists the complete catalogs.
func TestJapaneseRoundTrip(t *testing.T) {
	ja := func(key string) string { m, _ := i18n.Catalogs().Message("ja", key); return m }
	en := func(key string) string { m, _ := i18n.Catalogs().Message("en", key); return m }
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		secret := p.addClient(t, storage.Client{ID: "third", Name: "Third Party", RequireConsent: true,
			RedirectURIs: []string{"https://third.example.org/cb"}})
		rp := newRP(t, p.URL, "third", secret, "https://third.example.org/cb")

		resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			UILocales []string `json:"ui_locales_supported"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if !slices.Equal(doc.UILocales, []string{"en", "ja"}) {
			t.Errorf("ui_locales_supported = %v, want [en ja]", doc.UILocales)
		}

		tests := []struct {
			name   string
			opts   []oauth2.AuthCodeOption
			accept string
			pick   string // the language switch, used on the sign-in page
			want   func(string) string
			lang   string
		}{
			{name: "ui_locales=ja", opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("ui_locales", "fr ja")}, want: ja, lang: "ja"},
			{name: "Accept-Language ja-JP", accept: "ja-JP,ja;q=0.9,en;q=0.8", want: ja, lang: "ja"},
			{name: "switch overrides ui_locales and Accept-Language", accept: "ja-JP,ja;q=0.9",
				opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("ui_locales", "ja")}, pick: "en", want: en, lang: "en"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				br := newBrowser(t, p.URL)
				if tt.accept != "" {
					br.client.Transport = headerTransport{hdr: http.Header{"Accept-Language": {tt.accept}}}
				}
				isLang := func(step, body, key string) {
					t.Helper()
					if !strings.Contains(body, `<html lang="`+tt.lang+`"`) || !strings.Contains(body, tt.want(key)) {
						t.Fatalf("%s: not in %s:\n%s", step, tt.lang, body)
					}
				}
				// prompt=consent: every case sees the consent page (OIDC Core §3.1.2.1).
				f := rp.start(append(tt.opts, oauth2.SetAuthURLParam("prompt", "consent"))...)
				page, body := br.visit(f.URL)
				if page.Request.URL.Path != "/login" {
					t.Fatalf("want the sign-in page, got %d at %s", page.StatusCode, page.Request.URL)
				}
				if tt.pick != "" {
					here := page.Request.URL.RequestURI()
					page, body = br.visit(p.URL + "/lang?" + url.Values{"lang": {tt.pick}, "next": {here}}.Encode())
					if page.Request.URL.RequestURI() != here {
						t.Fatalf("the switch went to %s, want %s", page.Request.URL, here)
					}
				}
				isLang("sign-in page", body, "login.password")
				page, body = br.submit(page, body, map[string]string{"username": "alice", "password": "wrong"})
				if page.StatusCode != http.StatusUnauthorized {
					t.Fatalf("wrong password: %d", page.StatusCode)
				}
				isLang("wrong password", body, "login.error.bad_credentials")
				page, body = br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
				if page.Request.URL.Path != "/consent" {
					t.Fatalf("want the consent page, got %d at %s", page.StatusCode, page.Request.URL)
				}
				isLang("consent page", body, "consent.approve")
				resp, _ := br.submit(page, body, map[string]string{"action": "approve"})
				q := rp.callbackParams(resp, f, p.URL)
				if _, err := rp.exchange(q.Get("code"), f); err != nil {
					t.Fatalf("exchange: %v", err)
				}
			})
		}
	})
}
