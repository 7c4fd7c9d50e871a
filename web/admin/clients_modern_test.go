package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// submitted is what a browser submits for the first POST form of body:
// text and hidden inputs, checked checkboxes, textareas and selected
// options.
func submitted(t *testing.T, body string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	vals, found := url.Values{}, false
	var walk func(n *html.Node, in bool)
	walk = func(n *html.Node, in bool) {
		if n.Type == html.ElementNode && n.Data == "form" {
			if m, _ := attr(n, "method"); found || !strings.EqualFold(m, "post") {
				return
			}
			found, in = true, true
		}
		name, named := attr(n, "name")
		if in && n.Type == html.ElementNode && named {
			switch n.Data {
			case "input":
				typ, _ := attr(n, "type")
				v, _ := attr(n, "value")
				if _, checked := attr(n, "checked"); typ != "checkbox" || checked {
					vals.Add(name, v)
				}
			case "textarea":
				vals.Add(name, text(n))
			case "select":
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if _, sel := attr(o, "selected"); o.Type == html.ElementNode && sel {
						v, _ := attr(o, "value")
						vals.Add(name, v)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatal("no POST form on the page")
	}
	return vals
}

// TestConsoleKeepsModernClientSettings: the client page shows the token
// exchange grant, its audiences and the DPoP requirement (issue 19), so
// that saving a token-exchange client as the page shows it keeps them
// (before, the form dropped the grant and the policy refused the
// audiences); they can be changed there, wrong audiences are refused next
// to their field, and a dynamically registered client says so. The ID
// token on refresh (OIDC Core §12.2) is kept and changed alike, and a new
// client's form offers it checked.
func TestConsoleKeepsModernClientSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	audiences := []string{"https://orders.example/api", "urn:example:billing"}
	e.must(e.store.CreateClient(ctx, &storage.Client{
		ID: "gateway", Name: "Gateway", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		SecretHash: storage.HashToken("s"), GrantTypes: []string{"client_credentials", clientpolicy.GrantTokenExchange},
		Scopes: []string{"api"}, TokenExchangeAudiences: audiences, DPoPBoundAccessTokens: true,
		RegistrationTokenHash: storage.HashToken("rat"), CreatedAt: now, UpdatedAt: now,
	}))
	c := e.browser("u-admin")
	for _, tc := range []struct {
		name      string
		edit      func(url.Values)
		status    int
		grants    []string
		audiences []string
		dpop      bool
		refreshID bool
	}{
		{"renaming keeps grant, audiences and DPoP", func(f url.Values) { f.Set("name", "Gateway 2") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, audiences, true, true},
		{"audiences changed", func(f url.Values) { f.Set("token_exchange_audiences", "urn:example:billing\n\n") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, true},
		{"DPoP requirement off", func(f url.Values) { f.Del("dpop_bound") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, false, true},
		{"DPoP requirement on", func(f url.Values) { f.Set("dpop_bound", "1") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, true},
		{"ID token on refresh off", func(f url.Values) { f.Del("refresh_id_token") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, false},
		{"renaming keeps ID token on refresh off", func(f url.Values) { f.Set("name", "Gateway 3") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, false},
		{"ID token on refresh on", func(f url.Values) { f.Set("refresh_id_token", "1") }, http.StatusSeeOther,
			[]string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, true},
		{"grant removed with audiences left: refused", func(f url.Values) { f["grant"] = []string{"client_credentials"} },
			http.StatusUnprocessableEntity, []string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, true},
		{"plain http audience: refused", func(f url.Values) { f.Set("token_exchange_audiences", "http://orders.example/") },
			http.StatusUnprocessableEntity, []string{"client_credentials", clientpolicy.GrantTokenExchange}, []string{"urn:example:billing"}, true, true},
		{"grant and audiences removed together", func(f url.Values) {
			f["grant"] = []string{"client_credentials"}
			f.Del("token_exchange_audiences")
		}, http.StatusSeeOther, []string{"client_credentials"}, nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(c, "GET", "/admin/clients/gateway", nil)
			if p.status != http.StatusOK || !strings.Contains(p.body, "dynamic client registration") {
				t.Fatalf("client page: %d, want 200 saying it registered itself", p.status)
			}
			form := submitted(t, p.body)
			tc.edit(form)
			p = e.do(c, "POST", "/admin/clients/gateway", form)
			if p.status != tc.status {
				t.Fatalf("save: %d %q, want %d; body %.600s", p.status, p.loc, tc.status, p.body)
			}
			if tc.status == http.StatusUnprocessableEntity && !strings.Contains(p.body, `id="token_exchange_audiences-error"`) &&
				!strings.Contains(p.body, `id="token_exchange_audiences" name="token_exchange_audiences" rows="2" spellcheck="false" aria-invalid="true"`) {
				t.Errorf("refusal not shown at the audiences field: %.600s", p.body)
			}
			got, err := e.store.GetClient(ctx, "gateway")
			e.must(err)
			if !slices.Equal(got.GrantTypes, tc.grants) || !slices.Equal(got.TokenExchangeAudiences, tc.audiences) ||
				got.DPoPBoundAccessTokens != tc.dpop || got.OmitRefreshIDToken == tc.refreshID || got.RegistrationTokenHash == "" {
				t.Errorf("stored grants %v, audiences %v, dpop %v, ID token on refresh %v, registered %v; want %v, %v, %v, %v, true",
					got.GrantTypes, got.TokenExchangeAudiences, got.DPoPBoundAccessTokens, !got.OmitRefreshIDToken,
					got.RegistrationTokenHash != "", tc.grants, tc.audiences, tc.dpop, tc.refreshID)
			}
		})
	}
	// A new client gets an ID token on refresh unless the form says not.
	if f := submitted(t, e.do(c, "GET", "/admin/clients/new", nil).body); f.Get("refresh_id_token") != "1" {
		t.Errorf("new client form: refresh_id_token %q, want checked", f.Get("refresh_id_token"))
	}
	// A client the console registered does not claim self-registration.
	if p := e.do(c, "GET", "/admin/clients/app", nil); strings.Contains(p.body, "dynamic client registration") {
		t.Error("the app's page says it registered itself")
	}
}
