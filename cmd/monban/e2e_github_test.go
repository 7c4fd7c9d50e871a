package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
)

// fakeGitHub serves the parts of github.com and api.github.com the
// connector uses: the authorization page (which answers at once, as for
// a person already signed in to GitHub), the token endpoint and the four
// API paths.
func fakeGitHub(t *testing.T) *httptest.Server {
	t.Helper()
	var challenge string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js := func(v any) { w.Header().Set("Content-Type", "application/json"); _ = json.NewEncoder(w).Encode(v) }
		switch r.URL.Path {
		case "/login/oauth/authorize":
			q := r.URL.Query()
			challenge = q.Get("code_challenge")
			http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {"gh-code"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		case "/login/oauth/access_token":
			_ = r.ParseForm()
			if r.PostForm.Get("code") != "gh-code" || r.PostForm.Get("code_verifier") == "" || challenge == "" {
				w.WriteHeader(http.StatusBadRequest)
				js(map[string]string{"error": "bad_verification_code"})
				return
			}
			js(map[string]string{"access_token": "gho_x", "token_type": "bearer"})
		case "/user":
			js(map[string]any{"id": 583231, "login": "octocat", "name": "The Octocat"})
		case "/user/emails":
			js([]map[string]any{{"email": "octo@old.example", "verified": false}, {"email": "octocat@github.example", "primary": true, "verified": true}})
		case "/user/orgs":
			js([]map[string]any{{"login": "acme"}, {"login": "elsewhere"}})
		case "/user/teams":
			js([]map[string]any{{"slug": "devs", "organization": map[string]any{"login": "acme"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestGitHubEndToEnd: a person signs in to an app through monban with
// GitHub (a local fake): the verified primary address, and the allowed
// organisation and its team as groups in the ID token.
func TestGitHubEndToEnd(t *testing.T) {
	gh := fakeGitHub(t)
	p := newTestServer(t, withConfig(func(c *app.Config) {
		c.Connectors = []connector.Config{{ID: "github", Type: connector.TypeGitHub, Name: connector.Names{"": "GitHub"},
			ClientID: "Iv1.test", ClientSecret: "s", BaseURL: gh.URL, APIURL: gh.URL, Orgs: []string{"acme"},
			TeamsGroups: true, JIT: true}}
	}))
	scopes := []string{"openid", "profile", "email", "groups"}
	secret := p.addClient(t, storage.Client{ID: "app", RedirectURIs: []string{"http://app.example/cb"}, Scopes: scopes})
	rp := newRP(t, p.URL, "app", secret, "http://app.example/cb", scopes...)
	b := newFedBrowser(t, host(p.URL), host(gh.URL))
	fl := rp.start()
	_, body := b.get(fl.URL)
	m := regexp.MustCompile(`href="(/connector/github/start\?id=[^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no GitHub button:\n%s", body)
	}
	resp, _ := b.get(p.URL + strings.ReplaceAll(m[1], "&amp;", "&"))
	q := rp.callbackParams(resp, fl, p.URL)
	tok, err := rp.exchange(q.Get("code"), fl)
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, g := range tok.claims["groups"].([]any) {
		groups = append(groups, g.(string))
	}
	if !slices.Equal(groups, []string{"acme", "acme:devs"}) || tok.claims["email"] != "octocat@github.example" ||
		tok.claims["email_verified"] != true || tok.claims["preferred_username"] != "octocat" {
		t.Fatalf("claims %v", tok.claims)
	}
}
