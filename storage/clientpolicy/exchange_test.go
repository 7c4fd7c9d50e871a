package clientpolicy

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

func TestValidAudience(t *testing.T) {
	tests := []struct {
		aud  string
		want bool
	}{
		{"https://api.example/orders", true},
		{"https://api.example:8443/", true},
		{"urn:example:billing", true},
		{"URN:example:a:b", true},
		{"", false},
		{"http://api.example/", false},
		{"https://api.example/#frag", false},
		{"https://user@api.example/", false},
		{"https:///path", false},
		{"orders", false},
		{"urn:x", false},
		{"urn:example:", false},
		{"https://api.example/ space", false},
		{"https://api.example/\u00e9", false},
		{"https://api.example/" + strings.Repeat("a", MaxRedirectURILen), false},
	}
	for _, tt := range tests {
		t.Run(tt.aud, func(t *testing.T) {
			if got := ValidAudience(tt.aud); got != tt.want {
				t.Errorf("ValidAudience(%q) = %v, want %v", tt.aud, got, tt.want)
			}
		})
	}
}

func TestValidateExchange(t *testing.T) {
	many := make([]string, MaxTokenExchangeAudiences+1)
	for i := range many {
		many[i] = "urn:example:a" + strings.Repeat("x", i)
	}
	grant := []string{"client_credentials", GrantTokenExchange}
	tests := []struct {
		name      string
		client    storage.Client
		wantField string // "" for no problem
		wantCode  string
	}{
		{"neither", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: []string{"client_credentials"}}, "", ""},
		{"grant with audiences", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: grant,
			TokenExchangeAudiences: []string{"https://api.example/", "urn:example:b"}}, "", ""},
		{"grant without audiences", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: grant},
			FieldTokenExchangeAudiences, "policy.client.exchange_audience_required"},
		{"audiences without grant", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: []string{"client_credentials"},
			TokenExchangeAudiences: []string{"https://api.example/"}}, FieldTokenExchangeAudiences, "policy.client.exchange_grant_required"},
		{"public client", storage.Client{AuthMethod: storage.AuthMethodNone, GrantTypes: grant,
			TokenExchangeAudiences: []string{"https://api.example/"}}, FieldGrantTypes, "policy.client.exchange_public"},
		{"invalid audience", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: grant,
			TokenExchangeAudiences: []string{"http://api.example/"}}, FieldTokenExchangeAudiences, "policy.client.exchange_audience_invalid"},
		{"listed twice", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: grant,
			TokenExchangeAudiences: []string{"urn:example:b", "urn:example:b"}}, FieldTokenExchangeAudiences, "policy.client.exchange_audience_twice"},
		{"too many", storage.Client{AuthMethod: storage.AuthMethodBasic, GrantTypes: grant, TokenExchangeAudiences: many},
			FieldTokenExchangeAudiences, "policy.client.exchange_audience_too_many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := validateExchange(&tt.client)
			if tt.wantField == "" {
				if len(errs) > 0 {
					t.Fatalf("validateExchange = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.wantField || errs[0].Code != tt.wantCode {
				t.Fatalf("validateExchange = %+v, want one %s problem on %s", errs, tt.wantCode, tt.wantField)
			}
		})
	}
}

// TestValidateClientExchange: ValidateClient applies the exchange rules.
func TestValidateClientExchange(t *testing.T) {
	cl := &storage.Client{ID: "gw", Name: "Gateway", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		GrantTypes: []string{GrantTokenExchange}, Scopes: []string{"api"}}
	errs := ValidateClient(cl)
	if len(errs) != 1 || errs[0].Field != FieldTokenExchangeAudiences {
		t.Fatalf("ValidateClient = %v, want the missing audiences", errs)
	}
	cl.TokenExchangeAudiences = []string{"https://api.example/"}
	if errs := ValidateClient(cl); len(errs) > 0 {
		t.Fatalf("ValidateClient = %v, want none", errs)
	}
}
