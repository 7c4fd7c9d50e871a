package op

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestDecodeRegistration: malformed bodies are invalid_client_metadata
// naming the member; unknown members are ignored (RFC 7591 §2).
func TestDecodeRegistration(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // substring of the description; "" for success
	}{
		{"unknown member ignored", `{"redirect_uris":["https://a.example/cb"],"software_statement":"x","tos_uri":"https://a.example/tos"}`, ""},
		{"not an object", `["x"]`, "JSON object"},
		{"not JSON", `redirect_uris=x`, "JSON object"},
		{"wrong type", `{"redirect_uris":"https://a.example/cb"}`, "redirect_uris has the wrong type (want an array of strings)"},
		{"wrong element type", `{"redirect_uris":[1]}`, "redirect_uris"},
		{"wrong type of name", `{"client_name":["x"]}`, "client_name has the wrong type (want a string)"},
		{"wrong type of bool", `{"dpop_bound_access_tokens":"yes"}`, "dpop_bound_access_tokens"},
		{"two documents", `{} {}`, "one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRegistration([]byte(tt.body))
			var me *metadataError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("decodeRegistration: %v", err)
			case tt.wantErr == "":
			case !errors.As(err, &me) || me.code != "invalid_client_metadata" || !strings.Contains(me.description, tt.wantErr):
				t.Fatalf("decodeRegistration = %v, want invalid_client_metadata naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestApplyMetadata: the defaults of RFC 7591 §2 fill what is left out,
// and response_types is checked against grant_types (§2.1).
func TestApplyMetadata(t *testing.T) {
	tests := []struct {
		name    string
		m       clientMetadata
		check   func(*storage.Client) bool
		wantErr string
	}{
		{"defaults", clientMetadata{}, func(c *storage.Client) bool {
			return c.AuthMethod == storage.AuthMethodBasic && slices.Equal(c.GrantTypes, []string{"authorization_code"}) &&
				c.ApplicationType == storage.ApplicationWeb && c.Name == "id-1" && slices.Equal(c.Scopes, []string{"openid", "profile", "email"})
		}, ""},
		{"jwks kept as JSON", clientMetadata{JWKS: []byte(` {"keys":[]} `)}, func(c *storage.Client) bool { return c.JWKS == `{"keys":[]}` }, ""},
		{"jwks null", clientMetadata{JWKS: []byte(`null`)}, func(c *storage.Client) bool { return c.JWKS == "" }, ""},
		{"jwks not an object", clientMetadata{JWKS: []byte(`"k"`)}, nil, "jwks"},
		{"token response type", clientMetadata{ResponseTypes: []string{"token"}}, nil, "response_types"},
		{"code without its grant", clientMetadata{ResponseTypes: []string{"code"}, GrantTypes: []string{"client_credentials"}}, nil, "response_types"},
		{"unknown scope", clientMetadata{Scope: "openid admin"}, nil, "scope"},
		{"machine client", clientMetadata{GrantTypes: []string{"client_credentials"}, Scope: "openid"}, func(c *storage.Client) bool {
			return slices.Equal(c.GrantTypes, []string{"client_credentials"})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &storage.Client{ID: "id-1", RequireConsent: true, TokenExchangeAudiences: []string{"urn:example:a"}}
			err := applyMetadata(c, &tt.m)
			if tt.wantErr != "" {
				var me *metadataError
				if !errors.As(err, &me) || !strings.Contains(me.description, tt.wantErr) {
					t.Fatalf("applyMetadata = %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("applyMetadata = %v, client %+v", err, c)
			}
			if !c.RequireConsent || len(c.TokenExchangeAudiences) != 1 {
				t.Errorf("settings outside the metadata changed: %+v", c)
			}
		})
	}
}
