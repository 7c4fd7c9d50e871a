package snippets

import (
	"strings"
	"testing"
)

// TestFor checks what each kind of client gets: the values it needs, the
// way it authenticates, and never a secret.
func TestFor(t *testing.T) {
	base := App{Issuer: "https://id.example.com/", ClientID: "shop", RedirectURI: "https://shop.example/auth/cb"}
	tests := []struct {
		name      string
		app       func(App) App
		wantIDs   []string
		want      map[string][]string // snippet → texts it must contain
		forbidden map[string][]string
	}{
		{name: "confidential, basic", app: func(a App) App { return a },
			wantIDs: []string{"authjs-v5", "authjs-v5-signout", "nextauth-v4", "authjs-backchannel", "go-oidc", "oauth2-proxy", "mod_auth_openidc"},
			want: map[string][]string{
				"authjs-v5":         {`issuer = "https://id.example.com"`, `clientId: "shop"`, "process.env.MONBAN_CLIENT_SECRET", "https://shop.example/api/auth/callback/monban", `Authorization: "Basic "`},
				"go-oidc":           {`oidc.NewProvider(ctx, "https://id.example.com")`, `RedirectURL:  "https://shop.example/auth/cb"`, "AuthStyleInHeader"},
				"oauth2-proxy":      {`oidc_issuer_url = "https://id.example.com"`, `redirect_url = "https://shop.example/auth/cb"`, `whitelist_domains = ["id.example.com"]`},
				"mod_auth_openidc":  {"OIDCProviderMetadataURL https://id.example.com/.well-known/openid-configuration", "<Location /auth/>", "OIDCClientID shop"},
				"authjs-v5-signout": {`"https://shop.example/"`, "id_token_hint"},
			},
			forbidden: map[string][]string{"authjs-v5": {"token_endpoint_auth_method"}}},
		{name: "confidential, post", app: func(a App) App { a.SecretPost = true; return a },
			want: map[string][]string{
				"authjs-v5":        {`token_endpoint_auth_method: "client_secret_post"`, "client_secret: process.env.MONBAN_CLIENT_SECRET"},
				"go-oidc":          {"AuthStyleInParams"},
				"mod_auth_openidc": {"OIDCProviderTokenEndpointAuth client_secret_post"},
			},
			forbidden: map[string][]string{"authjs-v5": {`Authorization: "Basic "`}}},
		{name: "public", app: func(a App) App { a.Public = true; return a },
			wantIDs: []string{"authjs-v5", "authjs-v5-signout", "nextauth-v4", "authjs-backchannel", "go-oidc"},
			want: map[string][]string{
				"authjs-v5":   {`token_endpoint_auth_method: "none"`, `client_id: "shop"`},
				"nextauth-v4": {`token_endpoint_auth_method: "none"`},
				"go-oidc":     {"AuthStyleInParams"},
			},
			forbidden: map[string][]string{"authjs-v5": {"MONBAN_CLIENT_SECRET"}, "go-oidc": {"ClientSecret"}, "nextauth-v4": {"clientSecret"}}},
		{name: "scopes", app: func(a App) App { a.Scopes = []string{"openid", "offline_access"}; return a },
			want: map[string][]string{
				"go-oidc":   {`[]string{"openid", "offline_access"}`},
				"authjs-v5": {`scope: "openid offline_access"`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := For(tt.app(base))
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]string{}
			var ids []string
			for _, s := range all {
				byID[s.ID] = s.Text
				ids = append(ids, s.ID)
				if strings.Contains(s.Text, "<no value>") || s.Title == "" || s.File == "" {
					t.Errorf("%s: incomplete snippet %+v", s.ID, s)
				}
			}
			if tt.wantIDs != nil && strings.Join(ids, " ") != strings.Join(tt.wantIDs, " ") {
				t.Errorf("snippets = %v, want %v", ids, tt.wantIDs)
			}
			for id, texts := range tt.want {
				for _, w := range texts {
					if !strings.Contains(byID[id], w) {
						t.Errorf("%s lacks %q:\n%s", id, w, byID[id])
					}
				}
			}
			for id, texts := range tt.forbidden {
				for _, w := range texts {
					if strings.Contains(byID[id], w) {
						t.Errorf("%s contains %q:\n%s", id, w, byID[id])
					}
				}
			}
		})
	}
}
