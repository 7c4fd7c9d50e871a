package main

import (
	"testing"

	"golang.org/x/oauth2"
)

// TestStandardClaimsAndMapping: the claims set with "user update" reach
// a relying party by scope (OIDC Core §5.4), verified by go-oidc in the
// ID token and read from UserInfo, and a custom attribute arrives under
// the client's mapped claim name.
func TestStandardClaimsAndMapping(t *testing.T) {
	fx := newPeopleFixture(t)
	mustRun(t, fx.env, "", "user", "update", "alice", "--locale", "ja-JP", "--zoneinfo", "Asia/Tokyo",
		"--phone-number", "+81312345678", "--phone-number-verified", "--address-country", "JP",
		"--address-locality", "Tokyo", "--nickname", "ally", "--attribute", "dept=sales", "--email-verified=false")
	mustRun(t, fx.env, "", "client", "update", "app-a", "--scope", "openid profile email phone address offline_access",
		"--claim-mapping", "department=dept@profile")
	app := newRP(t, fx.p.URL, "app-a", secretOf("app-a"), redirectA, "openid", "profile", "email", "phone", "address")
	br := newBrowser(t, fx.p.URL)
	tok := fx.signIn(t, br, app)
	info, err := app.provider.UserInfo(app.ctx, oauth2.StaticTokenSource(tok.token))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var fromInfo map[string]any
	if err := info.Claims(&fromInfo); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"locale": "ja-JP", "zoneinfo": "Asia/Tokyo", "phone_number": "+81312345678",
		"phone_number_verified": true, "nickname": "ally", "department": "sales", "email_verified": false,
		"preferred_username": "alice"}
	for name, claims := range map[string]map[string]any{"ID token": tok.claims, "UserInfo": fromInfo} {
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("%s %s = %v, want %v", name, k, claims[k], v)
			}
		}
		addr, _ := claims["address"].(map[string]any)
		if addr["country"] != "JP" || addr["locality"] != "Tokyo" {
			t.Errorf("%s address = %v", name, claims["address"])
		}
	}
	// Without the scopes, none of it.
	plain := fx.silent(t, br, newRP(t, fx.p.URL, "app-a", secretOf("app-a"), redirectA, "openid"))
	for _, k := range []string{"locale", "phone_number", "address", "department", "email"} {
		if _, has := plain.claims[k]; has {
			t.Errorf("openid-only ID token has %s", k)
		}
	}
}
