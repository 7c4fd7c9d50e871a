package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

const (
	exchangeType   = "urn:ietf:params:oauth:token-type:access_token"
	audienceOrders = "https://api.example/orders"
	audienceBill   = "urn:example:billing"
)

// exchangeFixture is the SSO fixture plus a gateway and a second service
// allowed to exchange tokens, a confidential client without the grant and
// a public client that has it (stored directly: the policy refuses it).
type exchangeFixture struct {
	*ssoFixture
	secret map[string]string
}

func newExchangeFixture(t *testing.T, store storage.Store, cfg ...func(*app.Config)) *exchangeFixture {
	var opts []serverOption
	for _, f := range cfg {
		opts = append(opts, withConfig(f))
	}
	p := newTestServer(t, append([]serverOption{withStore(store)}, opts...)...)
	p.addUser(t, "alice", alicePassword)
	sa := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}})
	fx := &exchangeFixture{ssoFixture: &ssoFixture{p: p, a: newRP(t, p.URL, "app-a", sa, redirectA)}, secret: map[string]string{"app-a": sa}}
	exchange := []string{clientpolicy.GrantTokenExchange, "client_credentials"}
	fx.secret["gateway"] = p.addClient(t, storage.Client{ID: "gateway", Name: "Gateway", GrantTypes: exchange,
		Scopes: []string{"api"}, TokenExchangeAudiences: []string{audienceOrders, audienceBill}})
	fx.secret["orders"] = p.addClient(t, storage.Client{ID: "orders", Name: "Orders", GrantTypes: exchange,
		Scopes: []string{"api"}, TokenExchangeAudiences: []string{audienceBill}})
	fx.secret["plain"] = p.addClient(t, storage.Client{ID: "plain", Name: "Plain", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"api"}, TokenExchangeAudiences: []string{audienceOrders}})
	p.addClient(t, storage.Client{ID: "spa", Name: "SPA", AuthMethod: storage.AuthMethodNone,
		GrantTypes: []string{clientpolicy.GrantTokenExchange}, TokenExchangeAudiences: []string{audienceOrders}})
	return fx
}

// exchange posts a token exchange request as clientID (HTTP Basic, or
// client_id in the body for a public client) and decodes the answer.
func (fx *exchangeFixture) exchange(t *testing.T, clientID string, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", clientpolicy.GrantTokenExchange)
	secret := fx.secret[clientID]
	id := clientID
	if secret == "" {
		form.Set("client_id", clientID)
		id = ""
	}
	resp, body := fx.p.post(t, "/token", id, secret, form)
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("token exchange answer %q: %v", body, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, out
}

// clientToken gets a client_credentials token of clientID.
func (fx *exchangeFixture) clientToken(t *testing.T, clientID string) string {
	t.Helper()
	resp, body := fx.p.post(t, "/token", clientID, fx.secret[clientID], url.Values{"grant_type": {"client_credentials"}})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("client_credentials: %d %s", resp.StatusCode, body)
	}
	return out.AccessToken
}

// TestTokenExchange covers RFC 8693 end to end on both stores: a user's
// access token exchanged by a confidential client for one aimed at an
// allowed audience, with the act claim of delegation (nested on a second
// exchange), narrower scopes, a lifetime within the subject token's,
// introspection, and the exchanged token dying with its grant.
func TestTokenExchange(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newExchangeFixture(t, store)
		user := fx.signIn(t, newBrowser(t, fx.p.URL), fx.a)
		subject := user.token.AccessToken
		subjectClaims := jwtClaims(t, subject)

		status, out := fx.exchange(t, "gateway", url.Values{"subject_token": {subject}, "subject_token_type": {exchangeType},
			"audience": {audienceOrders}, "scope": {"openid profile"}})
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, out)
		}
		if out["issued_token_type"] != exchangeType || out["token_type"] != "Bearer" || out["scope"] != "openid profile" ||
			out["refresh_token"] != nil || out["id_token"] != nil {
			t.Errorf("answer %v", out)
		}
		exchanged, _ := out["access_token"].(string)
		typ, claims := fx.p.verifyJWT(t, exchanged)
		if typ != "at+jwt" {
			t.Errorf("typ = %q", typ)
		}
		aud, _ := claims["aud"].([]any)
		if len(aud) != 1 || aud[0] != audienceOrders {
			t.Errorf("aud = %v, want [%s]", claims["aud"], audienceOrders)
		}
		for k, want := range map[string]any{"sub": subjectClaims["sub"], "client_id": "gateway", "scope": "openid profile",
			"sid": subjectClaims["sid"], "fid": subjectClaims["fid"]} {
			if claims[k] != want {
				t.Errorf("claim %s = %v, want %v", k, claims[k], want)
			}
		}
		if act, _ := claims["act"].(map[string]any); act["sub"] != "gateway" || act["act"] != nil {
			t.Errorf("act = %v, want {sub: gateway}", claims["act"])
		}
		if claims["exp"].(float64) > subjectClaims["exp"].(float64) {
			t.Errorf("exp %v outlives the subject token's %v", claims["exp"], subjectClaims["exp"])
		}

		t.Run("default scope and resource", func(t *testing.T) {
			status, out := fx.exchange(t, "gateway", url.Values{"subject_token": {subject}, "subject_token_type": {exchangeType},
				"resource": {audienceBill}})
			if status != http.StatusOK || out["scope"] != subjectClaims["scope"] {
				t.Fatalf("exchange: %d %v, want the subject's scope %v", status, out, subjectClaims["scope"])
			}
		})

		t.Run("nested delegation", func(t *testing.T) {
			status, out := fx.exchange(t, "orders", url.Values{"subject_token": {exchanged}, "subject_token_type": {exchangeType},
				"audience": {audienceBill}, "actor_token": {fx.clientToken(t, "orders")}, "actor_token_type": {exchangeType}})
			if status != http.StatusOK {
				t.Fatalf("second exchange: %d %v", status, out)
			}
			_, claims := fx.p.verifyJWT(t, out["access_token"].(string))
			act, _ := claims["act"].(map[string]any)
			prior, _ := act["act"].(map[string]any)
			if act["sub"] != "orders" || prior["sub"] != "gateway" {
				t.Errorf("act = %v, want {sub: orders, act: {sub: gateway}}", claims["act"])
			}
		})

		t.Run("introspection", func(t *testing.T) {
			resp, body := fx.p.post(t, "/introspect", "gateway", fx.secret["gateway"], url.Values{"token": {exchanged}})
			var in map[string]any
			_ = json.Unmarshal([]byte(body), &in)
			act, _ := in["act"].(map[string]any)
			if resp.StatusCode != http.StatusOK || in["active"] != true || in["client_id"] != "gateway" || act["sub"] != "gateway" {
				t.Errorf("introspection: %d %s", resp.StatusCode, body)
			}
		})

		t.Run("dies with its grant", func(t *testing.T) {
			resp, body := fx.p.post(t, "/revoke", "app-a", fx.secret["app-a"], url.Values{"token": {user.token.RefreshToken}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
			resp, body = fx.p.post(t, "/introspect", "gateway", fx.secret["gateway"], url.Values{"token": {exchanged}})
			if resp.StatusCode != http.StatusOK || body != "{\"active\":false}\n" {
				t.Errorf("introspection after the grant was revoked: %d %s", resp.StatusCode, body)
			}
		})
	})
}

// TestTokenExchangeRefusals: every bad exchange answers the RFC's error
// code (RFC 8693 §2.2.2, RFC 6749 §5.2) and issues nothing.
func TestTokenExchangeRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newExchangeFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		subject := fx.signIn(t, br, fx.a).token.AccessToken
		revoked := fx.silent(t, br, fx.a).token.AccessToken
		if resp, body := fx.p.post(t, "/revoke", "app-a", fx.secret["app-a"], url.Values{"token": {revoked}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d %s", resp.StatusCode, body)
		}
		ordersToken := fx.clientToken(t, "orders")
		base := func(edit func(url.Values)) url.Values {
			v := url.Values{"subject_token": {subject}, "subject_token_type": {exchangeType}, "audience": {audienceOrders}}
			edit(v)
			return v
		}
		for _, tc := range []struct {
			name, client string
			form         url.Values
			status       int
			code         string
		}{
			{"audience not allowed", "gateway", base(func(v url.Values) { v.Set("audience", "https://evil.example/") }), 400, "invalid_target"},
			{"resource not allowed", "gateway", base(func(v url.Values) { v.Set("resource", "https://api.example/other") }), 400, "invalid_target"},
			{"another client's audience", "orders", base(func(url.Values) {}), 400, "invalid_target"},
			{"no audience", "gateway", base(func(v url.Values) { v.Del("audience") }), 400, "invalid_request"},
			{"widening scope", "gateway", base(func(v url.Values) { v.Set("scope", "openid groups") }), 400, "invalid_scope"},
			{"offline_access not granted", "gateway", base(func(v url.Values) { v.Set("scope", "offline_access") }), 400, "invalid_scope"},
			{"revoked subject token", "gateway", base(func(v url.Values) { v.Set("subject_token", revoked) }), 400, "invalid_request"},
			{"forged subject token", "gateway", base(func(v url.Values) { v.Set("subject_token", subject[:len(subject)-4]+"AAAA") }), 400, "invalid_request"},
			{"client token as subject", "gateway", base(func(v url.Values) { v.Set("subject_token", ordersToken) }), 400, "invalid_request"},
			{"wrong subject_token_type", "gateway", base(func(v url.Values) {
				v.Set("subject_token_type", "urn:ietf:params:oauth:token-type:id_token")
			}), 400, "invalid_request"},
			{"refresh token requested", "gateway", base(func(v url.Values) {
				v.Set("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")
			}), 400, "invalid_request"},
			{"actor token of another client", "gateway", base(func(v url.Values) {
				v.Set("actor_token", ordersToken)
				v.Set("actor_token_type", exchangeType)
			}), 400, "invalid_request"},
			{"actor token without type", "gateway", base(func(v url.Values) { v.Set("actor_token", ordersToken) }), 400, "invalid_request"},
			{"public client", "spa", base(func(url.Values) {}), 400, "unauthorized_client"},
			{"client without the grant", "plain", base(func(url.Values) {}), 400, "unauthorized_client"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, out := fx.exchange(t, tc.client, tc.form)
				if status != tc.status || out["error"] != tc.code || out["access_token"] != nil {
					t.Errorf("got %d %v, want %d %s", status, out, tc.status, tc.code)
				}
			})
		}

		t.Run("expired subject token", func(t *testing.T) {
			fx.p.Clock.Advance(10 * time.Minute)
			status, out := fx.exchange(t, "gateway", base(func(url.Values) {}))
			if status != http.StatusBadRequest || out["error"] != "invalid_request" {
				t.Errorf("got %d %v, want 400 invalid_request", status, out)
			}
		})
	})
}

// TestTokenExchangeSwitch: discovery lists the grant exactly when
// token_exchange is on, and the grant answers unsupported_grant_type
// when it is off.
func TestTokenExchangeSwitch(t *testing.T) {
	for _, on := range []bool{true, false} {
		fx := newExchangeFixture(t, nil, func(c *app.Config) { c.TokenExchange = on })
		resp, err := http.Get(fx.p.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Grants []string `json:"grant_types_supported"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if got := slices.Contains(doc.Grants, clientpolicy.GrantTokenExchange); got != on {
			t.Errorf("token_exchange %v: advertised %v (%v)", on, got, doc.Grants)
		}
		if on {
			continue
		}
		subject := fx.signIn(t, newBrowser(t, fx.p.URL), fx.a).token.AccessToken
		status, out := fx.exchange(t, "gateway", url.Values{"subject_token": {subject}, "subject_token_type": {exchangeType},
			"audience": {audienceOrders}})
		if status != http.StatusBadRequest || out["error"] != "unsupported_grant_type" {
			t.Errorf("token_exchange off: %d %v", status, out)
		}
	}
}
