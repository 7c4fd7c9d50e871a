package snippets

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's snippet blocks from the templates")

// readmeApps are the example applications of the README's Integrations
// section, by snippet ID: one client, each library with the redirect URI
// it expects.
var readmeApps = map[string]App{
	"authjs-v5":          {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/api/auth/callback/monban"},
	"authjs-v5-signout":  {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/api/auth/callback/monban"},
	"nextauth-v4":        {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/api/auth/callback/monban"},
	"authjs-backchannel": {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/api/auth/callback/monban"},
	"go-oidc":            {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/callback"},
	"oauth2-proxy":       {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/oauth2/callback"},
	"mod_auth_openidc":   {Issuer: "https://id.example.com", ClientID: "my-app", RedirectURI: "https://app.example.com/protected/redirect_uri"},
}

var readmeBlock = regexp.MustCompile("(?s)(<!-- snippet:([a-z0-9_-]+) -->\n)(.*?)(<!-- /snippet -->)")

// TestREADMEMatchesTheConsole keeps the README's Integrations code blocks
// equal to what the console shows for the same client: both come from
// For. Run with -update to rewrite the README after changing a template.
func TestREADMEMatchesTheConsole(t *testing.T) {
	const path = "../../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var failed bool
	out := readmeBlock.ReplaceAllStringFunc(string(b), func(m string) string {
		g := readmeBlock.FindStringSubmatch(m)
		id := g[2]
		seen[id] = true
		app, ok := readmeApps[id]
		if !ok {
			t.Errorf("README block %q has no example app", id)
			return m
		}
		want := fenced(t, app, id)
		if g[3] != want {
			failed = true
			if !*update {
				t.Errorf("README block %q differs from the console's snippet; run go test ./web/admin/snippets -update\nwant:\n%s", id, want)
			}
		}
		return g[1] + want + g[4]
	})
	for id := range readmeApps {
		if !seen[id] {
			t.Errorf("README has no <!-- snippet:%s --> block", id)
		}
	}
	if *update && failed {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fenced is the snippet id for app as a Markdown code block.
func fenced(t *testing.T, app App, id string) string {
	t.Helper()
	all, err := For(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == id {
			return "```" + Lang(s.ID) + "\n" + strings.TrimRight(s.Text, "\n") + "\n```\n"
		}
	}
	t.Fatalf("no snippet %q for %+v", id, app)
	return ""
}
