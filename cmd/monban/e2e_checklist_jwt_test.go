package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage/memory"
)

// ckUserinfo calls /userinfo with the bearer token and returns the status,
// the WWW-Authenticate header and the decoded body.
func ckUserinfo(t *testing.T, issuer, token string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), m
}

// ckB64 is base64url of v's JSON (or of a string as it is).
func ckB64(v any) string {
	raw, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		raw = string(b)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// TestChecklistTokens covers checklist J1, J2, J4, J5 (the parts not in
// TestAccessTokenJWT), J8, J9 and R12 against a running provider.
func TestChecklistTokens(t *testing.T) {
	fx := newCkFixture(t, memory.New())
	tok, err := fx.a.exchange(fx.code(t))
	if err != nil {
		t.Fatal(err)
	}
	at := tok.token.AccessToken
	atClaims := ckClaims(t, at)
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(at, ".")[0])
	_ = json.Unmarshal(raw, &header)

	var jwks jose.JSONWebKeySet
	_, body := call(t, http.MethodGet, fx.p.URL+op.PathJWKS, nil)
	if err := json.Unmarshal([]byte(body), &jwks); err != nil {
		t.Fatal(err)
	}

	t.Run("J1/alg-none-bearer-refused", func(t *testing.T) {
		forged := ckB64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": header.Kid}) + "." + ckB64(atClaims) + "."
		if status, _, _ := ckUserinfo(t, fx.p.URL, forged); status != http.StatusUnauthorized {
			t.Fatalf("alg none access token: %d, want 401", status)
		}
	})
	t.Run("J2/hs256-with-the-public-key-refused", func(t *testing.T) {
		for _, k := range jwks.Keys {
			pkix, err := x509.MarshalPKIXPublicKey(k.Key)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range [][]byte{pkix, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})} {
				in := ckB64(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": k.KeyID}) + "." + ckB64(atClaims)
				m := hmac.New(sha256.New, secret)
				m.Write([]byte(in))
				forged := in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
				if status, _, _ := ckUserinfo(t, fx.p.URL, forged); status != http.StatusUnauthorized {
					t.Fatalf("HS256 signed with key %s's public bytes: %d, want 401", k.KeyID, status)
				}
			}
		}
	})
	t.Run("J4/id-token-claims", func(t *testing.T) {
		c := tok.claims
		sub, _ := c["sub"].(string)
		now := float64(fx.p.Clock.Now().Unix())
		switch {
		case c["iss"] != fx.p.URL:
			t.Errorf("iss = %v, want %s exactly", c["iss"], fx.p.URL)
		case sub == "" || len(sub) > 255:
			t.Errorf("sub = %q", sub)
		case !slices.Contains(tok.idToken.Audience, "app-a") || c["azp"] != "app-a":
			t.Errorf("aud %v azp %v", tok.idToken.Audience, c["azp"])
		case c["exp"].(float64)-c["iat"].(float64) != op.DefaultIDTokenTTL.Seconds():
			t.Errorf("exp − iat = %v s, want the configured %v", c["exp"].(float64)-c["iat"].(float64), op.DefaultIDTokenTTL)
		case c["iat"].(float64) != now:
			t.Errorf("iat %v, want the server clock %v", c["iat"], now)
		case c["auth_time"] == nil || c["sid"] == nil || c["at_hash"] == nil:
			t.Errorf("auth_time, sid or at_hash missing: %v", c)
		}
	})
	t.Run("J3/issued-kid-in-jwks", func(t *testing.T) {
		if header.Kid == "" || len(jwks.Key(header.Kid)) != 1 {
			t.Fatalf("access token kid %q not in the JWKS", header.Kid)
		}
	})
	t.Run("J5/id-token-as-bearer-refused", func(t *testing.T) {
		status, www, _ := ckUserinfo(t, fx.p.URL, tok.rawIDToken())
		if status != http.StatusUnauthorized || !strings.Contains(www, `error="invalid_token"`) {
			t.Fatalf("ID token at /userinfo: %d %q, want 401 invalid_token", status, www)
		}
	})
	t.Run("J5/access-token-as-id-token-hint-refused", func(t *testing.T) {
		f := fx.b.start(oauth2.SetAuthURLParam("id_token_hint", at))
		resp, _ := fx.br.visit(f.URL)
		if q := fx.b.callbackParams(resp, f, fx.p.URL); q.Get("error") != "invalid_request" {
			t.Fatalf("got %v, want invalid_request", q)
		}
	})
	t.Run("J8/discovery-matches-behaviour", func(t *testing.T) {
		_, body := call(t, http.MethodGet, fx.p.URL+"/.well-known/openid-configuration", nil)
		var d map[string]any
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]any{
			"issuer":                                         fx.p.URL,
			"authorization_endpoint":                         fx.p.URL + "/authorize",
			"token_endpoint":                                 fx.p.URL + "/token",
			"response_types_supported":                       []any{"code"},                                                                 // A5: others refused
			"response_modes_supported":                       []any{"query"},                                                                // A15: others refused
			"code_challenge_methods_supported":               []any{"S256"},                                                                 // A10
			"authorization_response_iss_parameter_supported": true,                                                                          // A16
			"request_parameter_supported":                    true,                                                                          // A14: signed only, e2e_jar_test.go
			"request_uri_parameter_supported":                false,                                                                         // A14
			"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}, // T6, T7; private_key_jwt: e2e_assertion_test.go
		} {
			if ckJSON(d[key]) != ckJSON(want) {
				t.Errorf("%s = %s, want %s", key, ckJSON(d[key]), ckJSON(want))
			}
		}
		for _, g := range d["grant_types_supported"].([]any) {
			// The device grant is tested in e2e_device_test.go, token
			// exchange in e2e_tokenexchange_test.go.
			if g != "authorization_code" && g != "refresh_token" && g != "client_credentials" && g != deviceGrant &&
				g != "urn:ietf:params:oauth:grant-type:token-exchange" {
				t.Errorf("grant type %v advertised; T14 refuses everything else", g)
			}
		}
		if algs := ckJSON(d["id_token_signing_alg_values_supported"]); strings.Contains(strings.ToLower(algs), "none") || !strings.Contains(algs, "RS256") {
			t.Errorf("id_token_signing_alg_values_supported = %s (J1: no none; RS256 mandatory)", algs)
		}
	})
	t.Run("J9/userinfo-sub-and-no-nonce", func(t *testing.T) {
		status, _, m := ckUserinfo(t, fx.p.URL, at)
		if status != http.StatusOK || m["sub"] != tok.idToken.Subject || m["nonce"] != nil {
			t.Fatalf("userinfo: %d %v", status, m)
		}
	})
	t.Run("J9/token-in-query-refused", func(t *testing.T) {
		resp, _ := call(t, http.MethodGet, fx.p.URL+"/userinfo?access_token="+at, nil)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("access token in the query: %d", resp.StatusCode)
		}
	})
	// R12 (leeway 30 s, project choice) and J9 (expired → 401).
	for _, tc := range []struct {
		name  string
		shift time.Duration // clock change after issuing a fresh access token
		ok    bool
	}{
		{"R12/exp-20s-ago-accepted", op.DefaultAccessTokenTTL + 20*time.Second, true},
		{"J9/expired-refused", op.DefaultAccessTokenTTL + 120*time.Second, false},
		{"R12/iat-10s-ahead-accepted", -10 * time.Second, true},
		{"R12/iat-120s-ahead-refused", -120 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := fx.a.exchange(fx.code(t))
			if err != nil {
				t.Fatal(err)
			}
			fx.p.Clock.Advance(tc.shift)
			defer fx.p.Clock.Advance(-tc.shift)
			status, www, _ := ckUserinfo(t, fx.p.URL, fresh.token.AccessToken)
			if tc.ok && status != http.StatusOK || !tc.ok && (status != http.StatusUnauthorized || !strings.Contains(www, `error="invalid_token"`)) {
				t.Fatalf("status %d %q, want ok=%v", status, www, tc.ok)
			}
		})
	}
}
