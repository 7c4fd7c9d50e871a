package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/admin"
)

// TestClientURIChangeNeedsFreshSignIn (issue #13 item 11, checklist D2):
// changing where a client's codes, logout redirects or logout notices go
// needs a sign-in from within the fresh-auth window, like secret rotation;
// changing only the name does not.
func TestClientURIChangeNeedsFreshSignIn(t *testing.T) {
	base := url.Values{"name": {"App"}, "redirect_uris": {"https://app.example/cb"},
		"grant": {"authorization_code"}, "scopes": {"openid"}}
	cases := []struct {
		name   string
		change func(url.Values)
		stale  bool
		fresh  bool // the change needs a fresh sign-in
	}{
		{"D2/stale-sign-in-renaming", func(f url.Values) { f.Set("name", "Renamed") }, true, false},
		{"D2/stale-sign-in-changing-redirect-uris", func(f url.Values) { f.Set("redirect_uris", "https://attacker.example/cb") }, true, true},
		{"D2/stale-sign-in-adding-a-redirect-uri", func(f url.Values) {
			f.Set("redirect_uris", "https://app.example/cb\nhttps://attacker.example/cb")
		}, true, true},
		{"D2/stale-sign-in-changing-post-logout-uris", func(f url.Values) {
			f.Set("post_logout_redirect_uris", "https://attacker.example/")
		}, true, true},
		{"D2/stale-sign-in-changing-back-channel-uri", func(f url.Values) {
			f.Set("backchannel_logout_uri", "https://attacker.example/bcl")
		}, true, true},
		{"D2/stale-sign-in-same-uris-reformatted", func(f url.Values) {
			f.Set("redirect_uris", "  https://app.example/cb  \n\n")
			f.Set("name", "Renamed")
		}, true, false},
		{"D2/fresh-sign-in-changing-redirect-uris", func(f url.Values) { f.Set("redirect_uris", "https://new.example/cb") }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.browser("u-admin")
			form := url.Values{}
			for k, v := range base {
				form[k] = v
			}
			tc.change(form)
			form.Set("csrf_token", e.giveCSRF(c))
			if tc.stale {
				e.clock.Advance(admin.DefaultFreshAuth + time.Minute)
			}
			before := e.snapshot()
			p := e.do(c, "POST", "/admin/clients/app", form)
			if tc.fresh {
				if p.status != http.StatusForbidden || !strings.Contains(p.body, `href="`+signInLink("/admin/clients/app")+`"`) {
					t.Fatalf("status = %d, want 403 with a sign-in-again link back to the client; body %.400s", p.status, p.body)
				}
				if !reflect.DeepEqual(before, e.snapshot()) {
					t.Error("the refused change was written")
				}
				entries, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 10)
				e.must(err)
				if len(entries) != 0 {
					t.Errorf("refused change wrote %d audit entries", len(entries))
				}
				return
			}
			if p.status != http.StatusSeeOther || p.loc != "/admin/clients/app?saved=1" {
				t.Fatalf("status = %d %q, want 303 to the saved client; body %.400s", p.status, p.loc, p.body)
			}
			got, err := e.store.GetClient(context.Background(), "app")
			e.must(err)
			if got.Name != form.Get("name") {
				t.Errorf("name = %q, want %q", got.Name, form.Get("name"))
			}
		})
	}
}

// TestConsoleAuthMethod (issue #13 item 1): the console registers a
// confidential client for client_secret_post when the form asks
// (token_endpoint_auth_method), switches an existing one between the two
// secret methods keeping its secret, and refuses a secret method for a
// public type or an unknown method.
func TestConsoleAuthMethod(t *testing.T) {
	newForm := func(typ, id, method string) url.Values {
		f := url.Values{"type": {typ}, "id": {id}, "name": {"N"}, "redirect_uris": {"http://" + id + ".localhost:9001/callback"},
			"scopes": {"openid"}}
		if method != "" {
			f.Set("token_endpoint_auth_method", method)
		}
		return f
	}
	cases := []struct {
		name       string
		path       string
		form       url.Values
		status     int
		client     string
		wantMethod string // "" : no client stored under that ID
	}{
		{"create-web-post", "/admin/clients/new", newForm("web", "p1", storage.AuthMethodPost), http.StatusOK, "p1", storage.AuthMethodPost},
		{"create-web-default-basic", "/admin/clients/new", newForm("web", "b1", ""), http.StatusOK, "b1", storage.AuthMethodBasic},
		{"create-m2m-post", "/admin/clients/new", url.Values{"type": {"m2m"}, "id": {"m1"}, "name": {"M"}, "scopes": {"api"},
			"token_endpoint_auth_method": {storage.AuthMethodPost}}, http.StatusOK, "m1", storage.AuthMethodPost},
		{"create-spa-post-refused", "/admin/clients/new", newForm("spa", "s1", storage.AuthMethodPost), http.StatusUnprocessableEntity, "s1", ""},
		{"create-unknown-method-refused", "/admin/clients/new", newForm("web", "u1", "private_key_jwt"), http.StatusUnprocessableEntity, "u1", ""},
		{"update-basic-to-post", "/admin/clients/app", url.Values{"name": {"App"}, "redirect_uris": {"https://app.example/cb"},
			"grant": {"authorization_code"}, "scopes": {"openid"}, "token_endpoint_auth_method": {storage.AuthMethodPost}},
			http.StatusSeeOther, "app", storage.AuthMethodPost},
		{"update-without-the-field-keeps-the-method", "/admin/clients/app", url.Values{"name": {"App"},
			"redirect_uris": {"https://app.example/cb"}, "grant": {"authorization_code"}, "scopes": {"openid"}},
			http.StatusSeeOther, "app", storage.AuthMethodBasic},
		{"update-to-none-refused", "/admin/clients/app", url.Values{"name": {"App"}, "redirect_uris": {"https://app.example/cb"},
			"grant": {"authorization_code"}, "scopes": {"openid"}, "token_endpoint_auth_method": {storage.AuthMethodNone}},
			http.StatusUnprocessableEntity, "app", storage.AuthMethodBasic},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.browser("u-admin")
			tc.form.Set("csrf_token", e.giveCSRF(c))
			p := e.do(c, "POST", tc.path, tc.form)
			if p.status != tc.status {
				t.Fatalf("status = %d, want %d; body %.600s", p.status, tc.status, p.body)
			}
			got, err := e.store.GetClient(context.Background(), tc.client)
			if tc.wantMethod == "" {
				if err == nil {
					t.Fatalf("client %s stored, want refused", tc.client)
				}
				return
			}
			e.must(err)
			if got.AuthMethod != tc.wantMethod || got.SecretHash == "" {
				t.Errorf("method %q (secret hash set %v), want %q with a secret", got.AuthMethod, got.SecretHash != "", tc.wantMethod)
			}
			if tc.client == "app" && got.SecretHash != storage.HashToken("old-secret") {
				t.Error("switching the method changed the secret")
			}
		})
	}
}
