package github

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/monban-idp/monban/web/connector"
)

// fakeGitHub serves the token endpoint and the four API paths the
// connector reads, as GitHub documents them.
type fakeGitHub struct {
	emails []email
	orgs   []org
	teams  []team
	status int // of /user; 0: 200
	big    bool
	// verifier is the PKCE verifier the token request must carry.
	verifier string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/login/oauth/access_token" {
		_ = r.ParseForm()
		if r.PostForm.Get("code") != "good-code" || r.PostForm.Get("code_verifier") != f.verifier ||
			r.PostForm.Get("client_id") != "gh-client" || r.PostForm.Get("client_secret") != "gh-secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"gho_token","token_type":"bearer","scope":"read:user"}`))
		return
	}
	if r.Header.Get("Authorization") != "Bearer gho_token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var v any
	switch r.URL.Path {
	case "/user":
		if f.status != 0 {
			w.WriteHeader(f.status)
			return
		}
		if f.big {
			_, _ = w.Write([]byte(`{"id":7,"login":"` + strings.Repeat("a", maxBody) + `"}`))
			return
		}
		v = user{ID: 583231, Login: "octocat", Name: "The Octocat"}
	case "/user/emails":
		v = f.emails
	case "/user/orgs":
		v = f.orgs
	case "/user/teams":
		v = f.teams
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func TestGitHubCallback(t *testing.T) {
	emails := []email{{Email: "old@example.test", Verified: true}, {Email: "octo@example.test", Primary: true, Verified: true}}
	unverified := []email{{Email: "octo@example.test", Primary: true}}
	orgs := []org{{Login: "acme"}, {Login: "other"}}
	teams := []team{{Slug: "devs", Organization: org{Login: "acme"}}, {Slug: "ops", Organization: org{Login: "other"}}}
	tests := []struct {
		name    string
		fake    fakeGitHub
		cfg     func(*connector.Config)
		query   url.Values
		want    connector.Identity
		wantErr error
	}{
		{name: "verified primary address, no groups asked", fake: fakeGitHub{emails: emails},
			want: connector.Identity{ConnectorID: "gh", Subject: "583231", Username: "octocat", Name: "The Octocat",
				Email: "octo@example.test", EmailVerified: true}},
		{name: "unverified primary is not used", fake: fakeGitHub{emails: unverified},
			want: connector.Identity{ConnectorID: "gh", Subject: "583231", Username: "octocat", Name: "The Octocat"}},
		{name: "orgs and teams become groups, limited to the allowed orgs", fake: fakeGitHub{emails: emails, orgs: orgs, teams: teams},
			cfg: func(c *connector.Config) { c.Orgs, c.TeamsGroups = []string{"ACME"}, true },
			want: connector.Identity{ConnectorID: "gh", Subject: "583231", Username: "octocat", Name: "The Octocat",
				Email: "octo@example.test", EmailVerified: true, Groups: []string{"acme", "acme:devs"}}},
		{name: "teams of every org without a list", fake: fakeGitHub{emails: emails, orgs: orgs, teams: teams},
			cfg: func(c *connector.Config) { c.TeamsGroups = true },
			want: connector.Identity{ConnectorID: "gh", Subject: "583231", Username: "octocat", Name: "The Octocat",
				Email: "octo@example.test", EmailVerified: true, Groups: []string{"acme", "acme:devs", "other", "other:ops"}}},
		{name: "member of no allowed org is refused", fake: fakeGitHub{emails: emails, orgs: orgs},
			cfg: func(c *connector.Config) { c.Orgs = []string{"elsewhere"} }, wantErr: connector.ErrUpstreamRefused},
		{name: "error parameter", query: url.Values{"error": {"access_denied"}}, wantErr: connector.ErrUpstreamRefused},
		{name: "bad code", query: url.Values{"code": {"stolen"}}, wantErr: connector.ErrUpstreamRefused},
		{name: "API down", fake: fakeGitHub{status: http.StatusBadGateway}, wantErr: connector.ErrUpstreamUnavailable},
		{name: "oversized body", fake: fakeGitHub{big: true}, wantErr: connector.ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fake.verifier = "verifier-0123456789-0123456789-0123456789"
			srv := httptest.NewServer(&tc.fake)
			defer srv.Close()
			cfg := connector.Config{ID: "gh", Type: connector.TypeGitHub, ClientID: "gh-client", ClientSecret: "gh-secret",
				BaseURL: srv.URL, APIURL: srv.URL}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c, err := New(cfg, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			authURL, _ := url.Parse(c.AuthCodeURL("https://id.example.test/connector/gh/callback", "st", "", tc.fake.verifier))
			if q := authURL.Query(); q.Get("code_challenge_method") != "S256" || q.Get("state") != "st" || authURL.Path != "/login/oauth/authorize" {
				t.Fatalf("auth URL %s", authURL)
			}
			q := tc.query
			if q == nil {
				q = url.Values{"code": {"good-code"}, "state": {"st"}}
			}
			got, err := c.HandleCallback(t.Context(), "https://id.example.test/connector/gh/callback", q, "", tc.fake.verifier)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("identity\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
