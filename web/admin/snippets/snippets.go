package snippets

import (
	"bytes"
	"embed"
	"net/url"
	"path"
	"strings"
	"text/template"
)

// App is what the snippets are rendered for.
type App struct {
	Issuer   string // e.g. https://id.example.com
	ClientID string
	// RedirectURI is the redirect URI to show in snippets that name one
	// (go-oidc, oauth2-proxy, mod_auth_openidc): the client's first
	// registered one. Auth.js derives its own from the app's origin.
	RedirectURI string
	// Public is true for a client without a secret (PKCE only).
	Public bool
	// SecretPost is true for a client registered as client_secret_post.
	SecretPost bool
	// Scopes are requested; nil means openid profile email.
	Scopes []string
}

// Snippet is one rendered configuration.
type Snippet struct {
	ID    string // stable name, e.g. "authjs-v5"
	Title string // the library, as its authors name it
	File  string // where it goes, e.g. "auth.ts"
	Text  string
}

//go:embed templates/*.tmpl
var files embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
	"host": func(s string) string {
		u, _ := url.Parse(s)
		return u.Hostname()
	},
	// dir is the directory of a URL's path: the protected location
	// around mod_auth_openidc's redirect URI.
	"dir": func(s string) string {
		u, _ := url.Parse(s)
		d := path.Dir(u.Path)
		if d == "/" || d == "." {
			return "/"
		}
		return d + "/"
	},
	"quoteEach": func(s []string) string {
		q := make([]string, len(s))
		for i, v := range s {
			q[i] = `"` + v + `"`
		}
		return strings.Join(q, ", ")
	},
}).ParseFS(files, "templates/*.tmpl"))

// catalogue lists the snippets in the order shown: for each, its template
// and whether it needs a client secret (server-side libraries).
var catalogue = []struct {
	id, title, file string
	secret          bool
}{
	{"authjs-v5", "Auth.js v5 (next-auth@5)", "auth.ts", false},
	{"authjs-v5-signout", "Auth.js v5: sign-out route", "app/signout/route.ts", false},
	{"nextauth-v4", "NextAuth.js v4 (next-auth@4)", "pages/api/auth/[...nextauth].ts", false},
	{"authjs-backchannel", "Next.js: back-channel logout route (database sessions)", "app/api/backchannel-logout/route.ts", false},
	{"go-oidc", "Go: coreos/go-oidc + x/oauth2", "main.go", false},
	{"oauth2-proxy", "oauth2-proxy", "oauth2-proxy.cfg", true},
	{"mod_auth_openidc", "Apache mod_auth_openidc", "httpd.conf", true},
}

// data is what the templates see.
type data struct {
	App
	Origin    string // scheme://host of RedirectURI
	Discovery string
	EndSession,
	JWKS string
}

// For renders every snippet that fits the client: all of them for a
// confidential client, and for a public client those that need no
// secret. A client that does not use the authorization code flow gets
// none.
func For(a App) ([]Snippet, error) {
	if len(a.Scopes) == 0 {
		a.Scopes = []string{"openid", "profile", "email"}
	}
	iss := strings.TrimSuffix(a.Issuer, "/")
	a.Issuer = iss
	d := data{App: a, Discovery: iss + "/.well-known/openid-configuration", EndSession: iss + "/end_session", JWKS: iss + "/jwks"}
	if u, err := url.Parse(a.RedirectURI); err == nil && u.Host != "" {
		d.Origin = u.Scheme + "://" + u.Host
	}
	var out []Snippet
	for _, c := range catalogue {
		if c.secret && a.Public {
			continue
		}
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, c.id+".tmpl", d); err != nil { // only a template bug
			return nil, err
		}
		out = append(out, Snippet{ID: c.id, Title: c.title, File: c.file, Text: b.String()})
	}
	return out, nil
}

// Lang is the Markdown language tag of a snippet's code.
func Lang(id string) string {
	switch id {
	case "go-oidc":
		return "go"
	case "oauth2-proxy":
		return "toml"
	case "mod_auth_openidc":
		return "apache"
	}
	return "ts"
}
