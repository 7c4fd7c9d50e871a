package clientpolicy

import (
	"context"
	"slices"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestAdminScopes: admin scopes only for service accounts (confidential,
// client_credentials only), and only the known ones.
func TestAdminScopes(t *testing.T) {
	service := func(edit func(*storage.Client)) *storage.Client {
		c := &storage.Client{ID: "robot", Name: "Robot", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{ScopeAdminRead}}
		edit(c)
		return c
	}
	for _, tc := range []struct {
		name string
		c    *storage.Client
		code string // "" when valid
	}{
		{"service account", service(func(*storage.Client) {}), ""},
		{"every admin scope", service(func(c *storage.Client) { c.Scopes = slices.Clone(AdminScopes) }), ""},
		{"unknown admin scope", service(func(c *storage.Client) { c.Scopes = []string{"admin:everything"} }), "policy.client.admin_scope_unknown"},
		{"with the code grant", service(func(c *storage.Client) {
			c.GrantTypes, c.RedirectURIs = []string{"client_credentials", "authorization_code"}, []string{"https://r.example/cb"}
		}), "policy.client.admin_scope_service"},
		{"public", service(func(c *storage.Client) {
			c.AuthMethod, c.GrantTypes, c.RedirectURIs = storage.AuthMethodNone, []string{"authorization_code"}, []string{"https://r.example/cb"}
		}), "policy.client.admin_scope_service"},
		{"ordinary scopes on a web client", service(func(c *storage.Client) {
			c.GrantTypes, c.RedirectURIs, c.Scopes = []string{"authorization_code"}, []string{"https://r.example/cb"}, []string{"openid", "administrator"}
		}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var codes []string
			for _, e := range ValidateClient(tc.c) {
				codes = append(codes, e.Code)
				if tc.code != "" && e.Field != FieldScopes {
					t.Errorf("problem %+v not under %s", e, FieldScopes)
				}
			}
			switch {
			case tc.code == "" && len(codes) > 0:
				t.Errorf("refused: %v", codes)
			case tc.code != "" && !slices.Contains(codes, tc.code):
				t.Errorf("codes %v, want %s", codes, tc.code)
			}
		})
	}
}

// TestCheckAllowedGroups names each group that does not exist.
func TestCheckAllowedGroups(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	if err := st.CreateGroup(ctx, &storage.Group{ID: "g1", Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	fe, err := CheckAllowedGroups(ctx, st, []string{"staff", "ghosts"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fe) != 1 || fe[0].Field != FieldAllowedGroups || fe[0].Code != "policy.client.group_missing" || fe[0].Args["Group"] != "ghosts" {
		t.Errorf("got %+v", fe)
	}
}
