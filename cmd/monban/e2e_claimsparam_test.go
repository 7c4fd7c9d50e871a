package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// claimsParam is the oauth2 option for a claims request parameter.
func claimsParam(t *testing.T, v any) oauth2.AuthCodeOption {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return oauth2.SetAuthURLParam("claims", string(b))
}

// TestClaimsParameter: a relying party asking for scope=openid only gets
// the claims it asks for one by one with the claims parameter (OIDC Core
// §5.5), where it asks for them: in the ID token (verified by go-oidc) or
// from UserInfo, and again after a refresh; a claim outside the client's
// scopes is not released; the ID token's acr request is honoured
// (§5.5.1.1), and so is a sub value (§5.5.1: no response for another
// user); malformed requests are invalid_request at the client.
func TestClaimsParameter(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		p := fx.p
		r := newRP(t, p.URL, "app-a", fx.secret["app-a"], redirectA, "openid")
		br := newBrowser(t, p.URL)
		tok := fx.signIn(t, br, r, claimsParam(t, map[string]any{
			"id_token": map[string]any{"email": map[string]any{"essential": true}, "phone_number": nil},
			"userinfo": map[string]any{"name": nil, "email_verified": nil},
		}))
		userinfo := func(t *testing.T, at string) map[string]any {
			t.Helper()
			info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at, TokenType: "Bearer"}))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var m map[string]any
			if err := info.Claims(&m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		check := func(t *testing.T, idClaims, info map[string]any) {
			t.Helper()
			if idClaims["email"] != "alice@example.com" {
				t.Errorf("ID token email = %v, want the requested claim", idClaims["email"])
			}
			for _, k := range []string{"name", "email_verified", "preferred_username", "phone_number"} {
				if _, has := idClaims[k]; has {
					t.Errorf("ID token has %s, which was not asked for there (or is outside the client's scopes)", k)
				}
			}
			if info["name"] != "Alice" || info["email_verified"] != true {
				t.Errorf("UserInfo = %v, want name and email_verified", info)
			}
			for _, k := range []string{"email", "preferred_username", "phone_number"} {
				if _, has := info[k]; has {
					t.Errorf("UserInfo has %s, which was not asked for there", k)
				}
			}
		}
		check(t, tok.claims, userinfo(t, tok.token.AccessToken))

		t.Run("after-refresh", func(t *testing.T) {
			expired := *tok.token
			expired.Expiry = time.Now().Add(-time.Hour)
			next, err := r.oauth.TokenSource(r.ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			idt, err := r.verifier.Verify(r.ctx, next.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			var claims map[string]any
			_ = idt.Claims(&claims)
			check(t, claims, userinfo(t, next.AccessToken))
		})

		t.Run("scopes-release-as-before", func(t *testing.T) {
			all := fx.silent(t, br, newRP(t, p.URL, "app-a", fx.secret["app-a"], redirectA, "openid", "profile"))
			if all.claims["name"] != "Alice" || all.claims["preferred_username"] != "alice" || all.claims["email"] != nil {
				t.Errorf("profile scope: %v", all.claims)
			}
		})

		t.Run("acr-value-honoured", func(t *testing.T) {
			got := fx.silent(t, br, r, claimsParam(t, map[string]any{
				"id_token": map[string]any{"acr": map[string]any{"essential": true, "values": []string{acr.Password}}}}))
			if got.claims["acr"] != acr.Password {
				t.Errorf("acr = %v, want %s", got.claims["acr"], acr.Password)
			}
		})
		for _, tc := range []struct {
			name   string
			opts   []oauth2.AuthCodeOption
			errStr string
		}{
			// §5.5.1.1: an essential acr the provider cannot satisfy fails.
			{"essential-unknown-acr", []oauth2.AuthCodeOption{claimsParam(t, map[string]any{
				"id_token": map[string]any{"acr": map[string]any{"essential": true, "value": "urn:example:acr:unknown"}}})}, "access_denied"},
			// A stronger acr than the session's needs a step-up, which
			// prompt=none cannot ask for.
			{"stronger-acr-without-interaction", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none"), claimsParam(t, map[string]any{
				"id_token": map[string]any{"acr": map[string]any{"essential": true, "values": []string{acr.MFA}}}})}, "interaction_required"},
			{"malformed", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", `{"id_token":`)}, "invalid_request"},
			{"wrong-type", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", `{"userinfo":{"email":{"essential":"yes"}}}`)}, "invalid_request"},
			{"not-an-object", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("claims", `["email"]`)}, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := r.start(tc.opts...)
				resp, _ := br.visit(f.URL)
				if resp.StatusCode != http.StatusFound {
					t.Fatalf("= %d at %s, want a redirect to the client", resp.StatusCode, resp.Request.URL)
				}
				if q := r.callbackParams(resp, f, p.URL); q.Get("error") != tc.errStr || q.Get("code") != "" {
					t.Errorf("got %v, want error=%s", q, tc.errStr)
				}
			})
		}
		// §5.5.1: a sub value names the only user the response may be for.
		bob := p.addUser(t, "bob", "bob's long passphrase")
		aliceSub := tok.idToken.Subject
		subIs := func(sub string) oauth2.AuthCodeOption {
			return claimsParam(t, map[string]any{"id_token": map[string]any{"sub": map[string]any{"value": sub}}})
		}
		t.Run("sub-of-the-session-user", func(t *testing.T) {
			if got := fx.silent(t, br, r, subIs(aliceSub)); got.idToken.Subject != aliceSub {
				t.Errorf("sub = %s", got.idToken.Subject)
			}
		})
		t.Run("sub-of-another-user-prompt-none", func(t *testing.T) {
			f := r.start(subIs(bob.ID), oauth2.SetAuthURLParam("prompt", "none"))
			resp, _ := br.visit(f.URL)
			if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "login_required" {
				t.Errorf("got %v, want login_required", q)
			}
		})
		t.Run("sub-of-another-user-signed-in-as-alice", func(t *testing.T) {
			f := r.start(subIs(bob.ID))
			nb := newBrowser(t, p.URL)
			page, body := nb.visit(f.URL)
			resp, _ := nb.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
			if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "login_required" || q.Get("code") != "" {
				t.Errorf("got %v, want login_required and no code", q)
			}
		})
		t.Run("discovery", func(t *testing.T) {
			var d struct {
				Claims bool `json:"claims_parameter_supported"`
			}
			if err := r.provider.Claims(&d); err != nil || !d.Claims {
				t.Errorf("claims_parameter_supported = %v (%v)", d.Claims, err)
			}
		})
	})
}
