package op

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// TestClaimsParamRefused: a claims parameter that is not a claims request
// (OIDC Core §5.5) is invalid_request at the client, with state echoed.
func TestClaimsParamRefused(t *testing.T) {
	many := make([]string, maxClaimsEntries+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q:null", fmt.Sprint("c", i))
	}
	for _, tc := range []struct{ name, claims string }{
		{"not-json", `{"id_token":`},
		{"trailing-garbage", `{"id_token":{}} x`},
		{"array", `[{"id_token":{}}]`},
		{"null", `null`},
		{"string", `"id_token"`},
		{"member-not-object", `{"id_token":"acr"}`},
		{"userinfo-array", `{"userinfo":["email"]}`},
		{"entry-not-object", `{"id_token":{"email":true}}`},
		{"essential-not-bool", `{"id_token":{"acr":{"essential":"yes"}}}`},
		{"values-not-array", `{"id_token":{"acr":{"values":"urn:monban:acr:mfa"}}}`},
		{"acr-value-not-string", `{"id_token":{"acr":{"value":2}}}`},
		{"acr-values-not-strings", `{"id_token":{"acr":{"values":[1,2]}}}`},
		{"sub-value-not-string", `{"id_token":{"sub":{"value":1}}}`},
		{"sub-value-empty", `{"id_token":{"sub":{"value":""}}}`},
		{"too-many-entries", `{"userinfo":{` + strings.Join(many, ",") + `}}`},
		{"oversize", `{"userinfo":{"email":{"value":"` + strings.Repeat("x", maxParamLength) + `"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, oerr := parseAuthParams(authzParams("claims", tc.claims), checklistWeb1)
			if oerr == nil || oerr.ErrorType != "invalid_request" {
				t.Fatalf("got %v, want invalid_request", oerr)
			}
			if !a.stateOK || a.state != "S1" {
				t.Error("state not echoed with the error")
			}
		})
	}
}

// TestClaimsParamIndividual: which claims asked for one by one are kept
// (claimsparam.go): requestable, within the client's scopes, not already
// released by a granted scope, and not for a client that requires consent.
func TestClaimsParamIndividual(t *testing.T) {
	web := &storage.Client{ID: "web1", AuthMethod: storage.AuthMethodBasic, RedirectURIs: []string{"https://app1.test/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"}}
	consent := *web
	consent.RequireConsent = true
	for _, tc := range []struct {
		name   string
		client *storage.Client
		scope  string
		claims string
		want   storage.RequestedClaims
	}{
		{"none", web, "openid", ``, storage.RequestedClaims{}},
		{"within-client-scopes", web, "openid",
			`{"id_token":{"email":null,"name":{"essential":true}},"userinfo":{"email_verified":null}}`,
			storage.RequestedClaims{IDToken: []string{"name", "email"}, UserInfo: []string{"email_verified"}}},
		{"outside-client-scopes", web, "openid", `{"userinfo":{"phone_number":null,"address":null,"groups":null}}`, storage.RequestedClaims{}},
		{"already-granted-by-scope", web, "openid email", `{"userinfo":{"email":null,"nickname":null}}`,
			storage.RequestedClaims{UserInfo: []string{"nickname"}}},
		{"unknown-and-registered-claims", web, "openid", `{"id_token":{"ssn":null,"sub":{"value":"x"},"acr":null,"auth_time":null}}`,
			storage.RequestedClaims{}},
		{"client-requires-consent", &consent, "openid", `{"userinfo":{"email":null}}`, storage.RequestedClaims{}},
		{"extension-members-ignored", web, "openid", `{"userinfo":{"email":{"essential":false,"purpose":"x"}},"other":1}`,
			storage.RequestedClaims{UserInfo: []string{"email"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := authzParams("scope", tc.scope, "claims", tc.claims)
			if tc.claims == "" {
				v.Del("claims")
			}
			a, oerr := parseAuthParams(v, tc.client)
			if oerr != nil {
				t.Fatalf("refused: %s (%s)", oerr.ErrorType, oerr.Description)
			}
			if !reflect.DeepEqual(a.claims, tc.want) {
				t.Errorf("claims = %+v, want %+v", a.claims, tc.want)
			}
		})
	}
}

// TestRequestedACRFromClaims: the ID token's acr claim request (OIDC Core
// §5.5.1.1) joins acr_values; an essential one that cannot be met is
// access_denied.
func TestRequestedACRFromClaims(t *testing.T) {
	for _, tc := range []struct {
		name, acrValues, claims string
		want, wantErr           string
	}{
		{"none", "", ``, "", ""},
		{"value", "", `{"id_token":{"acr":{"value":"` + acr.MFA + `"}}}`, acr.MFA, ""},
		{"values-weakest-known", "", `{"id_token":{"acr":{"essential":true,"values":["urn:x:unknown","` + acr.MFA + `"]}}}`, acr.MFA, ""},
		{"voluntary-unknown-ignored", "", `{"id_token":{"acr":{"values":["urn:x:unknown"]}}}`, "", ""},
		{"essential-unknown", "", `{"id_token":{"acr":{"essential":true,"value":"urn:x:unknown"}}}`, "", "access_denied"},
		{"userinfo-acr-ignored", "", `{"userinfo":{"acr":{"essential":true,"value":"urn:x:unknown"}}}`, "", ""},
		{"stronger-of-both", acr.Password, `{"id_token":{"acr":{"value":"` + acr.MFA + `"}}}`, acr.MFA, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr, oerr := parseClaimsParam(tc.claims)
			if oerr != nil {
				t.Fatal(oerr)
			}
			got, oerr := requestedACR(tc.acrValues, cr)
			switch {
			case tc.wantErr != "" && (oerr == nil || string(oerr.ErrorType) != tc.wantErr):
				t.Fatalf("got %v, want %s", oerr, tc.wantErr)
			case tc.wantErr == "" && oerr != nil:
				t.Fatalf("refused: %v", oerr)
			case got != tc.want:
				t.Errorf("acr = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestClaimsWith: the named claims are added to those of the scopes, only
// when the user has them.
func TestClaimsWith(t *testing.T) {
	u := &storage.User{ID: "u1", Username: "alice", Name: "Alice", Email: "alice@example.com", EmailVerified: true,
		UpdatedAt: time.Unix(1700000000, 0)}
	got := claimsWith(u, []string{"openid"}, []string{"name", "email", "phone_number"})
	if got.Name != "Alice" || got.Email != "alice@example.com" || got.EmailVerified != nil || got.PhoneNumber != "" ||
		got.PreferredUsername != "" || got.UpdatedAt != 0 {
		t.Errorf("claimsWith = %+v, want name and email only", got)
	}
	if all := claimsWith(u, []string{"openid", "profile"}, nil); all.PreferredUsername != "alice" || all.Email != "" {
		t.Errorf("scopes only = %+v", all)
	}
}
