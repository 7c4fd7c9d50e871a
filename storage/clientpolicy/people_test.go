package clientpolicy_test

import (
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

func TestValidatePeopleFields(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *storage.Client)
		want   string // the field with a problem; "" when valid
	}{
		{"rule and mapping", func(c *storage.Client) {
			c.AllowedGroups = []string{"staff", "ops"}
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "dept", Claim: "department", Scope: "profile"}}
		}, ""},
		{"group listed twice", func(c *storage.Client) { c.AllowedGroups = []string{"staff", "staff"} }, clientpolicy.FieldAllowedGroups},
		{"group name empty", func(c *storage.Client) { c.AllowedGroups = []string{""} }, clientpolicy.FieldAllowedGroups},
		{"mapping to a standard claim", func(c *storage.Client) {
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "dept", Claim: "email", Scope: "profile"}}
		}, clientpolicy.FieldClaimMappings},
		{"mapping to sub", func(c *storage.Client) {
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "dept", Claim: "sub", Scope: "profile"}}
		}, clientpolicy.FieldClaimMappings},
		{"mapping for a scope the client lacks", func(c *storage.Client) {
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "dept", Claim: "department", Scope: "phone"}}
		}, clientpolicy.FieldClaimMappings},
		{"claim mapped twice", func(c *storage.Client) {
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "a", Claim: "x", Scope: "profile"}, {Attribute: "b", Claim: "x", Scope: "profile"}}
		}, clientpolicy.FieldClaimMappings},
		{"bad attribute name", func(c *storage.Client) {
			c.ClaimMappings = []storage.ClaimMapping{{Attribute: "a b", Claim: "x", Scope: "profile"}}
		}, clientpolicy.FieldClaimMappings},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &storage.Client{ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
				RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"},
				Scopes: []string{"openid", "profile"}}
			tc.change(c)
			errs := clientpolicy.ValidateClient(c)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tc.want {
				t.Fatalf("want one problem with %s, got %v", tc.want, errs)
			}
		})
	}
}
