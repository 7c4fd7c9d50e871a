package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// requestObject is a signed request object (RFC 9101 §4) for f's
// parameters, with iss, aud and exp for issuer at now; set overrides
// claims (a nil value removes one).
func requestObject(s signer, f *flow, t *testing.T, issuer, clientID string, now time.Time, set map[string]any) string {
	t.Helper()
	claims := map[string]any{"iss": clientID, "aud": issuer, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range flowParams(t, f) {
		claims[k] = v[0]
	}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return s.sign(claims)
}

// jarURL is the front-channel request with a request object by value
// (RFC 9101 §5.1), with outer parameters that must be ignored.
func jarURL(issuer, clientID, object string) string {
	return issuer + "/authorize?" + url.Values{"client_id": {clientID}, "response_type": {"code"}, "request": {object},
		"state": {"outer-state"}, "redirect_uri": {redirectB}, "scope": {"openid"}}.Encode()
}

// TestRequestObjects: a private_key_jwt client signs its authorization
// request (go-jose) and a person signs in with it; only the object's
// parameters count; the same works pushed to /par; discovery advertises
// it; every bad object is refused: on the error page while its signature
// is unverified, with invalid_request_object at its registered redirect
// URI once it is, and nothing is issued.
func TestRequestObjects(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, edKey, _ := ed25519.GenerateKey(rand.Reader)
		jar := signer{t: t, key: ecKey, alg: jose.ES256, kid: "jar-1"}
		other := signer{t: t, key: edKey, alg: jose.EdDSA, kid: "other-1"}
		p.addClient(t, storage.Client{ID: "jar", Name: "JAR", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectA}, JWKS: jar.jwks()})
		p.addClient(t, storage.Client{ID: "other", Name: "Other", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectB}, JWKS: other.jwks()})
		secretB := p.addClient(t, storage.Client{ID: "app-b", Name: "App B", RedirectURIs: []string{redirectB}})

		r := newRP(t, p.URL, "jar", "", redirectA, "openid", "email")
		now := p.Clock.Now()
		exchange := func(t *testing.T, code string, f *flow) *oauth2.Token {
			t.Helper()
			tok, err := r.oauth.Exchange(r.ctx, code, oauth2.VerifierOption(f.verifier),
				oauth2.SetAuthURLParam("client_assertion_type", assertionType),
				oauth2.SetAuthURLParam("client_assertion", jar.sign(claimsFor("jar", p.URL+"/token", p.Clock.Now()))))
			if err != nil {
				t.Fatalf("code exchange: %v", err)
			}
			idt, err := r.verifier.Verify(r.ctx, tok.Extra("id_token").(string))
			if err != nil || idt.Nonce != f.nonce {
				t.Fatalf("ID token: %v (nonce %q, want %q)", err, idt.Nonce, f.nonce)
			}
			return tok
		}

		br := newBrowser(t, p.URL)
		f := r.start()
		page, body := br.visit(jarURL(p.URL, "jar", requestObject(jar, f, t, p.URL, "jar", now, nil)))
		resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		q := r.callbackParams(resp, f, p.URL) // the object's redirect_uri and state, not the outer ones
		tok := exchange(t, q.Get("code"), f)
		if !slices.Contains(strings.Fields(tok.Extra("scope").(string)), "email") {
			t.Errorf("scope = %v, want the object's (openid email)", tok.Extra("scope"))
		}

		t.Run("pushed", func(t *testing.T) {
			f := r.start()
			form := url.Values{"client_id": {"jar"}, "request": {requestObject(jar, f, t, p.URL, "jar", p.Clock.Now(), nil)},
				"client_assertion_type": {assertionType}, "client_assertion": {jar.sign(claimsFor("jar", p.URL+"/par", p.Clock.Now()))}}
			status, pr, body := push(t, p.URL, "jar", "", form)
			if status != http.StatusCreated {
				t.Fatalf("push = %d %s", status, body)
			}
			resp, _ := br.visit(authorizeURI(p.URL, "jar", pr.RequestURI)) // the session answers at once
			exchange(t, r.callbackParams(resp, f, p.URL).Get("code"), f)
		})
		t.Run("pushed-bad-object", func(t *testing.T) {
			f := r.start()
			form := url.Values{"client_id": {"jar"}, "request": {requestObject(other, f, t, p.URL, "jar", p.Clock.Now(), nil)},
				"client_assertion_type": {assertionType}, "client_assertion": {jar.sign(claimsFor("jar", p.URL+"/par", p.Clock.Now()))}}
			if status, _, body := push(t, p.URL, "jar", "", form); status != http.StatusBadRequest || oauthError(body) != "invalid_request_object" {
				t.Errorf("= %d %s, want 400 invalid_request_object", status, body)
			}
		})
		t.Run("client-without-keys", func(t *testing.T) {
			rb := newRP(t, p.URL, "app-b", secretB, redirectB)
			f := rb.start(oauth2.SetAuthURLParam("request", requestObject(jar, rb.start(), t, p.URL, "app-b", p.Clock.Now(), nil)))
			resp, _ := newBrowser(t, p.URL).visit(f.URL)
			if q := rb.callbackParams(resp, f, p.URL); q.Get("error") != "request_not_supported" {
				t.Errorf("error = %q, want request_not_supported", q.Get("error"))
			}
		})
		t.Run("discovery", func(t *testing.T) {
			var d struct {
				Request    bool     `json:"request_parameter_supported"`
				RequestURI bool     `json:"request_uri_parameter_supported"`
				Algs       []string `json:"request_object_signing_alg_values_supported"`
			}
			if err := r.provider.Claims(&d); err != nil {
				t.Fatal(err)
			}
			if !d.Request || d.RequestURI || !slices.Contains(d.Algs, "ES256") ||
				slices.ContainsFunc(d.Algs, func(a string) bool { return a == "none" || strings.HasPrefix(a, "HS") }) {
				t.Errorf("discovery: %+v", d)
			}
		})

		hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, nil)
		hsObject := func(f *flow) string {
			b, _ := json.Marshal(map[string]any{"iss": "jar", "aud": p.URL, "exp": now.Add(time.Minute).Unix(),
				"response_type": "code", "client_id": "jar", "redirect_uri": redirectA, "state": f.state})
			jws, _ := hs.Sign(b)
			s, _ := jws.CompactSerialize()
			return s
		}
		noneObject := func(f *flow) string {
			b, _ := json.Marshal(map[string]any{"iss": "jar", "aud": p.URL, "exp": now.Add(time.Minute).Unix(),
				"response_type": "code", "client_id": "jar", "redirect_uri": redirectA, "state": f.state})
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(b) + "."
		}
		signed := func(set map[string]any) func(*flow) string {
			return func(f *flow) string { return requestObject(jar, f, t, p.URL, "jar", p.Clock.Now(), set) }
		}
		for _, tc := range []struct {
			name     string
			object   func(*flow) string
			toClient bool // verified: answered at the object's redirect_uri
		}{
			{"another-clients-key", func(f *flow) string { return requestObject(other, f, t, p.URL, "jar", now, nil) }, false},
			{"alg-none", noneObject, false},
			{"hs256", hsObject, false},
			{"malformed", func(*flow) string { return "eyJhbGciOiJFUzI1NiJ9.not-json.c2ln" }, false},
			{"oversize", signed(map[string]any{"login_hint": strings.Repeat("h", 4700)}), false},
			{"expired", signed(map[string]any{"exp": now.Add(-time.Minute).Unix()}), true},
			{"no-exp", signed(map[string]any{"exp": nil}), true},
			{"exp-hours-ahead", signed(map[string]any{"exp": now.Add(3 * time.Hour).Unix()}), true},
			{"wrong-aud", signed(map[string]any{"aud": "https://elsewhere.example"}), true},
			{"wrong-iss", signed(map[string]any{"iss": "other"}), true},
			{"nbf-in-future", signed(map[string]any{"nbf": now.Add(time.Hour).Unix()}), true},
			{"client-id-mismatch", signed(map[string]any{"client_id": "other"}), true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := r.start()
				resp, body := newBrowser(t, p.URL).visit(jarURL(p.URL, "jar", tc.object(f)))
				if !tc.toClient {
					if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
						!strings.Contains(body, "signed request") {
						t.Fatalf("= %d (Location %q), want the 400 error page about the signed request", resp.StatusCode, resp.Header.Get("Location"))
					}
					return
				}
				if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "invalid_request_object" || q.Get("code") != "" {
					t.Errorf("got %v, want invalid_request_object", q)
				}
			})
		}
		// A bad object at the client_id of another client that has keys is
		// checked with that client's keys: refused on the page.
		t.Run("outer-client-id-of-another", func(t *testing.T) {
			resp, _ := newBrowser(t, p.URL).visit(jarURL(p.URL, "other", requestObject(jar, r.start(), t, p.URL, "jar", now, nil)))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("= %d (Location %q), want the 400 error page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	})
}
