package main

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestRefreshIDTokenOptional: OIDC Core §12.2 makes the ID token of a
// refresh response optional (issue 21). By default every refresh returns
// one; a client registered with OmitRefreshIDToken (`client update
// --refresh-id-token=false`) gets the access and refresh tokens only,
// while its code exchange still returns an ID token.
func TestRefreshIDTokenOptional(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		if _, err := fx.p.Store.UpdateClient(t.Context(), "app-b", func(c *storage.Client) error {
			c.OmitRefreshIDToken = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name      string
			clientID  string
			rp        *rp
			wantOnRef bool
		}{
			{name: "default/id-token-on-refresh", clientID: "app-a", rp: fx.a, wantOnRef: true},
			{name: "omitted/no-id-token-on-refresh", clientID: "app-b", rp: fx.b, wantOnRef: false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				br := newBrowser(t, fx.p.URL)
				first := fx.signIn(t, br, tc.rp)
				if first.idToken == nil {
					t.Fatal("the code exchange returned no ID token")
				}
				fx.p.Clock.Advance(time.Minute)
				tok, err := tc.rp.refresh(first.token.RefreshToken)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if tok.AccessToken == "" || tok.RefreshToken == "" || tok.RefreshToken == first.token.RefreshToken {
					t.Fatalf("refresh answered access token %t, rotated refresh token %t",
						tok.AccessToken != "", tok.RefreshToken != "" && tok.RefreshToken != first.token.RefreshToken)
				}
				fx.assertLive(t, tc.clientID, tok.AccessToken)
				raw, _ := tok.Extra("id_token").(string)
				if got := raw != ""; got != tc.wantOnRef {
					t.Fatalf("ID token on refresh: %t, want %t", got, tc.wantOnRef)
				}
				if raw != "" {
					if _, err := tc.rp.verifier.Verify(tc.rp.ctx, raw); err != nil {
						t.Fatalf("refreshed ID token: %v", err)
					}
				}
			})
		}
	})
}
