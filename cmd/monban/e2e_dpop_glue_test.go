package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// dpopHolder is a client's DPoP key (RFC 9449) and the last server nonce
// it learnt (DPoP-Nonce, §8), as a DPoP client library keeps them.
type dpopHolder struct {
	p     *testProvider
	key   *ecdsa.PrivateKey
	nonce string
}

func newDPoPHolder(t *testing.T, p *testProvider) *dpopHolder {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopHolder{p: p, key: k}
}

// jkt is the key's RFC 7638 thumbprint.
func (h *dpopHolder) jkt(t *testing.T) string {
	t.Helper()
	sum, err := (&jose.JSONWebKey{Key: &h.key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// proof signs a proof (RFC 9449 §4.2) for method and target at the test
// clock's now, with ath when accessToken is set and the known nonce.
func (h *dpopHolder) proof(t *testing.T, method, target, accessToken string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: h.key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"jti": storage.NewID(), "htm": method, "htu": target, "iat": h.p.Clock.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if h.nonce != "" {
		claims["nonce"] = h.nonce
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// do sends req built by build with a fresh proof (build may reuse it) and,
// when the server asks for a nonce (use_dpop_nonce, §8 and §9), learns it
// and sends once more, as DPoP clients do.
func (h *dpopHolder) do(t *testing.T, build func(proof string) *http.Request, method, target, accessToken string) (*http.Response, string) {
	t.Helper()
	for range 2 {
		resp, err := http.DefaultClient.Do(build(h.proof(t, method, target, accessToken)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n := resp.Header.Get("DPoP-Nonce")
		asked := strings.Contains(string(b), "use_dpop_nonce") || strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce")
		if n != "" {
			h.nonce = n
		}
		if !asked || n == "" {
			return resp, string(b)
		}
	}
	t.Fatal("the server asked for a nonce twice")
	return nil, ""
}

// token posts form to /token as clientID with a proof.
func (h *dpopHolder) token(t *testing.T, clientID, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := h.do(t, func(proof string) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.p.URL+"/token", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
		req.Header.Set("DPoP", proof)
		return req
	}, http.MethodPost, h.p.URL+"/token", "")
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("token answer %d %q: %v", resp.StatusCode, body, err)
	}
	return resp, out
}

// TestAdminAPIDPoP: a service account gets a DPoP-bound token by
// client_credentials with a proof (RFC 9449 §5) and calls the admin API
// with `Authorization: DPoP` and a proof for the API URL (§7.1): 200. The
// same token as a Bearer token, without a proof, with a replayed proof or
// a proof by another key is 401; a token got without a proof still works
// as a Bearer token.
func TestAdminAPIDPoP(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		secret := p.addClient(t, storage.Client{ID: "ci", Name: "CI", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"admin:read"}})
		holder, thief := newDPoPHolder(t, p), newDPoPHolder(t, p)
		resp, out := holder.token(t, "ci", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin:read"}})
		token, _ := out["access_token"].(string)
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("client_credentials with a proof: %d %v", resp.StatusCode, out)
		}
		if _, claims := p.verifyJWT(t, token); claims["cnf"].(map[string]any)["jkt"] != holder.jkt(t) {
			t.Fatalf("cnf = %v, want jkt %s", claims["cnf"], holder.jkt(t))
		}
		const path = "/admin/api/v1/clients"
		target := p.URL + path
		call := func(scheme, tok string, proofs ...string) *http.Request {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target+"?limit=10", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", scheme+" "+tok)
			for _, pr := range proofs {
				req.Header.Add("DPoP", pr)
			}
			return req
		}
		res, body := holder.do(t, func(pr string) *http.Request { return call("DPoP", token, pr) }, http.MethodGet, target, token)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"client_id":"ci"`) {
			t.Fatalf("DPoP call: %d %s", res.StatusCode, body)
		}
		send := func(req *http.Request) (int, string) {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
		}
		thief.nonce = holder.nonce // nonces are public: any caller learns them
		replayed := holder.proof(t, http.MethodGet, target, token)
		if status, _ := send(call("DPoP", token, replayed)); status != http.StatusOK {
			t.Fatalf("first use of a proof: %d", status)
		}
		for _, tc := range []struct {
			name      string
			req       *http.Request
			challenge string
		}{
			{"as a bearer token", call("Bearer", token), `error="invalid_token"`},
			{"as a bearer token with a proof", call("Bearer", token, holder.proof(t, http.MethodGet, target, token)), `error="invalid_token"`},
			{"without a proof", call("DPoP", token), `DPoP realm="monban", error="invalid_dpop_proof"`},
			{"replayed proof", call("DPoP", token, replayed), `error="invalid_dpop_proof"`},
			{"proof by another key", call("DPoP", token, thief.proof(t, http.MethodGet, target, token)), `error="invalid_dpop_proof"`},
			{"proof for another URL", call("DPoP", token, holder.proof(t, http.MethodGet, p.URL+"/admin/api/v1/users", token)), `error="invalid_dpop_proof"`},
			{"proof for another method", call("DPoP", token, holder.proof(t, http.MethodPost, target, token)), `error="invalid_dpop_proof"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if status, ch := send(tc.req); status != http.StatusUnauthorized || !strings.Contains(ch, tc.challenge) {
					t.Errorf("%d %q, want 401 with %s", status, ch, tc.challenge)
				}
			})
		}

		t.Run("unbound token as bearer", func(t *testing.T) {
			resp, body := p.post(t, "/token", "ci", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin:read"}})
			var out map[string]any
			_ = json.Unmarshal([]byte(body), &out)
			if resp.StatusCode != http.StatusOK || out["token_type"] != "Bearer" {
				t.Fatalf("client_credentials without a proof: %d %s", resp.StatusCode, body)
			}
			res, apiBody := apiCall(t, p, "GET", "/clients", out["access_token"].(string), nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("bearer call: %d %s", res.StatusCode, apiBody)
			}
		})
	})
}

// TestTokenExchangeDPoPAndTargets: over HTTP, a token exchange with a
// DPoP proof issues a token bound to the proof's key (RFC 9449 §5), a
// DPoP-bound subject token is refused without a proof by its key, and
// several audience parameters (RFC 8693 §2.1) all become the token's
// audience.
func TestTokenExchangeDPoPAndTargets(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newExchangeFixture(t, store)
		subject := fx.signIn(t, newBrowser(t, fx.p.URL), fx.a).token.AccessToken
		form := func(audiences ...string) url.Values {
			return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
				"subject_token_type": {exchangeType}, "audience": audiences}
		}
		gw := newDPoPHolder(t, fx.p)
		resp, out := gw.token(t, "gateway", fx.secret["gateway"], form(audienceOrders, audienceBill))
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("exchange with a proof: %d %v", resp.StatusCode, out)
		}
		bound := out["access_token"].(string)
		_, claims := fx.p.verifyJWT(t, bound)
		if claims["cnf"].(map[string]any)["jkt"] != gw.jkt(t) {
			t.Errorf("cnf = %v, want jkt %s", claims["cnf"], gw.jkt(t))
		}
		var aud []string
		for _, a := range claims["aud"].([]any) {
			aud = append(aud, a.(string))
		}
		if !slices.Equal(aud, []string{audienceOrders, audienceBill}) {
			t.Errorf("aud = %v, want both audiences", aud)
		}

		// The bound token as the subject of a further exchange.
		again := url.Values{"subject_token": {bound}, "subject_token_type": {exchangeType}, "audience": {audienceBill}}
		if status, out := fx.exchange(t, "orders", again); status != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Errorf("bound subject token without a proof: %d %v, want 400 invalid_request", status, out)
		}
		again.Set("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
		if resp, out := newDPoPHolder(t, fx.p).token(t, "orders", fx.secret["orders"], again); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Errorf("bound subject token with another key's proof: %d %v, want 400 invalid_request", resp.StatusCode, out)
		}
		orders := &dpopHolder{p: fx.p, key: gw.key, nonce: gw.nonce} // a service holding the same key
		resp, out = orders.token(t, "orders", fx.secret["orders"], again)
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Errorf("bound subject token with its key's proof: %d %v", resp.StatusCode, out)
		}
	})
}
