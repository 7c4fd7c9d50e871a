package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// signer makes client assertions with one key.
type signer struct {
	t   *testing.T
	key any
	alg jose.SignatureAlgorithm
	kid string
}

func (s signer) jwks() string {
	pub := jose.JSONWebKey{Key: publicOf(s.key), KeyID: s.kid, Use: "sig", Algorithm: string(s.alg)}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

func publicOf(k any) any {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	}
	return nil
}

// sign signs claims (iss, sub, aud, exp, jti … as given).
func (s signer) sign(claims map[string]any) string {
	s.t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := sig.Sign(b)
	if err != nil {
		s.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// claimsFor are good assertion claims for clientID at now.
func claimsFor(clientID, aud string, now time.Time) map[string]any {
	return map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "jti": randomString(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// assertionPost posts form to the provider and returns status and body.
func assertionPost(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPrivateKeyJWT: a client registered with private_key_jwt signs in a
// person with the code flow (x/oauth2 with a go-jose assertion) and
// refreshes; bad assertions are invalid_client and change nothing; a
// client with a jwks_uri authenticates at introspection and revocation.
func TestPrivateKeyJWT(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, edKey, _ := ed25519.GenerateKey(rand.Reader)
		svc := signer{t: t, key: ecKey, alg: jose.ES256, kid: "svc-1"}
		other := signer{t: t, key: edKey, alg: jose.EdDSA, kid: "other-1"}
		p.addClient(t, storage.Client{ID: "svc", Name: "Service", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectA}, JWKS: svc.jwks()})
		keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/jwk-set+json")
			io.WriteString(w, other.jwks())
		}))
		t.Cleanup(keys.Close)
		p.addClient(t, storage.Client{ID: "other", Name: "Other", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectB}, JWKSURI: keys.URL + "/jwks.json"})

		r := newRP(t, p.URL, "svc", "", redirectA, "openid", "offline_access")
		br := newBrowser(t, p.URL)
		f := r.start()
		page, body := br.visit(f.URL)
		resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		q := r.callbackParams(resp, f, p.URL)
		now := p.Clock.Now()
		tok, err := r.oauth.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(f.verifier),
			oauth2.SetAuthURLParam("client_assertion_type", assertionType),
			oauth2.SetAuthURLParam("client_assertion", svc.sign(claimsFor("svc", p.URL+"/token", now))))
		if err != nil {
			t.Fatalf("code exchange with private_key_jwt: %v", err)
		}
		if _, err := r.verifier.Verify(r.ctx, tok.Extra("id_token").(string)); err != nil || tok.RefreshToken == "" {
			t.Fatalf("tokens: %v, refresh %q", err, tok.RefreshToken)
		}

		refresh := func(assertion string) (int, string) {
			return assertionPost(t, p.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
				"client_assertion_type": {assertionType}, "client_assertion": {assertion}})
		}
		good := claimsFor("svc", p.URL, now) // aud = the issuer is fine too
		status, body := refresh(svc.sign(good))
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %s", status, body)
		}
		var rt struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal([]byte(body), &rt)
		replayed := svc.sign(good)
		tok.RefreshToken = rt.RefreshToken

		with := func(k string, v any) map[string]any {
			c := claimsFor("svc", p.URL+"/token", now)
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
			return c
		}
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		payload, _ := json.Marshal(claimsFor("svc", p.URL+"/token", now))
		for _, tc := range []struct{ name, assertion string }{
			{"expired", svc.sign(with("exp", now.Add(-time.Minute).Unix()))},
			{"exp-too-far-ahead", svc.sign(with("exp", now.Add(time.Hour).Unix()))},
			{"no-exp", svc.sign(with("exp", nil))},
			{"no-jti", svc.sign(with("jti", nil))},
			{"replayed-jti", replayed},
			{"wrong-aud", svc.sign(with("aud", "https://elsewhere.example/token"))},
			{"iss-not-sub", svc.sign(with("sub", "other"))},
			{"iat-in-future", svc.sign(with("iat", now.Add(time.Hour).Unix()))},
			{"alg-none", hdr + "." + base64.RawURLEncoding.EncodeToString(payload) + "."},
			{"another-clients-key", other.sign(claimsFor("svc", p.URL+"/token", now))},
			{"garbage", "not.a.jwt"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := refresh(tc.assertion)
				if status != http.StatusUnauthorized || oauthError(body) != "invalid_client" {
					t.Errorf("= %d %s, want 401 invalid_client", status, body)
				}
			})
		}
		t.Run("secret-instead", func(t *testing.T) {
			status, _ := assertionPost(t, p.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
				"client_id": {"svc"}, "client_secret": {"guess"}})
			if status != http.StatusUnauthorized {
				t.Errorf("= %d", status)
			}
		})
		// The refusals changed nothing: the refresh token still works.
		if status, body := refresh(svc.sign(claimsFor("svc", p.URL+"/token", now))); status != http.StatusOK {
			t.Fatalf("refresh after refusals: %d %s", status, body)
		}

		// jwks_uri: the other client introspects the token's access token
		// with an assertion for the introspection endpoint, and revokes.
		status, body = assertionPost(t, p.URL+"/introspect", url.Values{"token": {tok.AccessToken},
			"client_assertion_type": {assertionType}, "client_assertion": {other.sign(claimsFor("other", p.URL+"/introspect", now))}})
		if status != http.StatusOK || !strings.Contains(body, `"active"`) {
			t.Errorf("introspection with a jwks_uri client: %d %s", status, body)
		}
		status, body = assertionPost(t, p.URL+"/revoke", url.Values{"token": {"unknown-token"},
			"client_assertion_type": {assertionType}, "client_assertion": {other.sign(claimsFor("other", p.URL, now))}})
		if status != http.StatusOK {
			t.Errorf("revocation with a jwks_uri client: %d %s", status, body)
		}
	})
}

// TestPrivateKeyJWTOff: with private_key_jwt disabled, discovery does not
// list it and a valid assertion is invalid_client.
func TestPrivateKeyJWTOff(t *testing.T) {
	p := newTestServer(t, withConfig(func(c *app.Config) { c.PrivateKeyJWT = false }))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc := signer{t: t, key: key, alg: jose.ES256, kid: "k"}
	p.addClient(t, storage.Client{ID: "svc", Name: "Service", AuthMethod: storage.AuthMethodPrivateKeyJWT,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, JWKS: svc.jwks()})
	resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "private_key_jwt") || strings.Contains(string(b), "auth_signing_alg") {
		t.Errorf("discovery advertises private_key_jwt:\n%s", b)
	}
	status, body := assertionPost(t, p.URL+"/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {assertionType}, "client_assertion": {svc.sign(claimsFor("svc", p.URL+"/token", p.Clock.Now()))}})
	if status != http.StatusUnauthorized || oauthError(body) != "invalid_client" {
		t.Errorf("assertion while disabled = %d %s", status, body)
	}
}
