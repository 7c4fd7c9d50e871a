package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestRefreshTokenIssuedBeforeOrderedKeys: a database upgraded from a
// release before ordered keys holds refresh tokens of 43 characters stored
// by their SHA-256. Over HTTP, on both stores, such a token still refreshes
// (x/oauth2, as an app does) into one of the ordered format, which
// refreshes in turn, and each kind is revoked at /revoke (RFC 7009 §2.1),
// after which it is invalid_grant.
func TestRefreshTokenIssuedBeforeOrderedKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		u := p.addUser(t, "alice", "correct horse battery staple")
		secret := p.addClient(t, storage.Client{ID: "app", Name: "App", RedirectURIs: []string{"https://app.test/cb"}})
		r := newRP(t, p.URL, "app", secret, "https://app.test/cb", "openid", "offline_access")
		legacy := func() string { // as the previous release stored it
			tok, now, id := storage.NewToken(), p.Clock.Now(), storage.NewID()
			if err := p.Store.CreateRefreshToken(t.Context(), &storage.RefreshToken{
				ID: id, TokenHash: storage.HashToken(tok), FamilyID: id, ClientID: "app", UserID: u.ID,
				Scopes: []string{"openid", "offline_access"}, AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now,
				ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour),
			}); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		revoke := func(token string) {
			if resp, body := p.post(t, "/revoke", "app", secret, url.Values{"token": {token}}); resp.StatusCode != http.StatusOK {
				t.Fatalf("/revoke: %d %s", resp.StatusCode, body)
			}
		}

		old := legacy()
		next, err := r.refresh(old)
		if err != nil {
			t.Fatalf("refresh with a token issued before ordered keys: %v", err)
		}
		if len(next.RefreshToken) != 44 || storage.TokenKey(next.RefreshToken) == storage.HashToken(next.RefreshToken) {
			t.Fatalf("successor %q is not of the ordered format", next.RefreshToken)
		}
		if _, err := r.refresh(next.RefreshToken); err != nil {
			t.Fatalf("refresh with the ordered successor: %v", err)
		}
		if _, err := r.refresh(old); err == nil {
			t.Fatal("the rotated token issued before ordered keys refreshed again")
		}

		for _, tc := range []struct {
			name  string
			token func() string
		}{
			{"issued before ordered keys", legacy},
			{"ordered", func() string {
				fresh, err := r.refresh(legacy())
				if err != nil {
					t.Fatal(err)
				}
				return fresh.RefreshToken
			}},
		} {
			t.Run("revoke/"+tc.name, func(t *testing.T) {
				tok := tc.token()
				revoke(tok)
				if _, err := r.refresh(tok); err == nil {
					t.Fatal("refreshed after /revoke")
				}
			})
		}
	})
}
