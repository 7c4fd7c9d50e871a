package main

import (
	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/op/keys"

	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
)

// jwsHeader returns the protected header of a compact JWS.
func jwsHeader(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSigned(token, keys.SupportedAlgorithms)
	if err != nil {
		t.Fatalf("parse %q: %v", token, err)
	}
	return jws.Signatures[0].Protected
}

// publishedKIDs fetches the JWKS and returns its kids by algorithm.
func publishedKIDs(t *testing.T, issuer string) map[string]string {
	t.Helper()
	resp, err := http.Get(issuer + op.PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	kids := map[string]string{}
	for _, k := range set.Keys {
		kids[k.KeyID] = k.Algorithm
	}
	return kids
}

// TestIDTokenAlgorithmPerClient is issue #4's "must show" 4: clients
// registered with id_token_signed_response_alg ES256, EdDSA and PS256 get
// ID tokens in that algorithm which coreos/go-oidc verifies (signature
// against the JWKS, iss, aud, exp, nonce, at_hash), and a client without
// one gets RS256 (OIDC Core §15.1; OIDC Registration §2). Access tokens are
// ES256 whatever the client, and discovery lists all four algorithms.
func TestIDTokenAlgorithmPerClient(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		fx := &ssoFixture{p: p}
		for _, tc := range []struct{ name, registered, want string }{
			{"ES256", "ES256", "ES256"},
			{"EdDSA", "EdDSA", "EdDSA"},
			{"PS256", "PS256", "PS256"},
			{"default", "", "RS256"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := "app-" + strings.ToLower(tc.name)
				secret := p.addClient(t, storage.Client{ID: id, Name: id, RedirectURIs: []string{redirectA}, IDTokenSigningAlg: tc.registered})
				r := newRP(t, p.URL, id, secret, redirectA)
				var meta struct {
					Algs []string `json:"id_token_signing_alg_values_supported"`
				}
				if err := r.provider.Claims(&meta); err != nil || !slices.Equal(meta.Algs, []string{"ES256", "EdDSA", "PS256", "RS256"}) {
					t.Fatalf("discovery lists %v (%v), want the four algorithms", meta.Algs, err)
				}
				tok := fx.signIn(t, newBrowser(t, p.URL), r) // go-oidc verification inside
				kids := publishedKIDs(t, p.URL)
				raw, _ := tok.token.Extra("id_token").(string)
				if h := jwsHeader(t, raw); h.Algorithm != tc.want || kids[h.KeyID] != tc.want {
					t.Fatalf("ID token signed %s with kid %s (published as %q), want %s", h.Algorithm, h.KeyID, kids[h.KeyID], tc.want)
				}
				if h := jwsHeader(t, tok.token.AccessToken); h.Algorithm != string(op.DefaultAccessTokenAlg) || kids[h.KeyID] != h.Algorithm ||
					h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
					t.Fatalf("access token header %+v, want a published %s key and typ at+jwt", h, op.DefaultAccessTokenAlg)
				}
				if _, err := r.userinfo(tok.token.AccessToken); err != nil {
					t.Fatalf("userinfo with the access token: %v", err)
				}
			})
		}
	})
}

// TestAccessTokenAlgConfigured: access_token_alg chooses the access-token
// algorithm; ID tokens keep the client's.
func TestAccessTokenAlgConfigured(t *testing.T) {
	for _, alg := range []string{"RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			p := newTestServer(t, withConfig(func(c *app.Config) { c.AccessTokenAlg = alg }))
			p.addUser(t, "alice", alicePassword)
			secret := p.addClient(t, storage.Client{ID: "app", Name: "App", RedirectURIs: []string{redirectA}})
			r := newRP(t, p.URL, "app", secret, redirectA)
			tok := (&ssoFixture{p: p}).signIn(t, newBrowser(t, p.URL), r)
			if h := jwsHeader(t, tok.token.AccessToken); h.Algorithm != alg {
				t.Fatalf("access token signed %s, want %s", h.Algorithm, alg)
			}
			if _, err := r.userinfo(tok.token.AccessToken); err != nil {
				t.Fatalf("userinfo: %v", err)
			}
		})
	}
}
