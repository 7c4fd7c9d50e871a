package op

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestRefreshTokenFormats: refresh tokens issued before ordered ones (43
// characters, stored by their SHA-256) keep working after the upgrade for
// refresh and revocation (RFC 7009 §2.1), and every token issued now is
// ordered (storage.NewOrderedToken), stored by its storage.TokenKey only.
func TestRefreshTokenFormats(t *testing.T) {
	ctx := t.Context()
	f := newRefreshFixture(t)
	p, store, now, c, refresh := f.p, f.store, f.now, f.c, f.refresh
	issue := func(token, key string) string { // a family's first token, stored by key
		id := storage.NewOrderedID()
		must(t, store.CreateRefreshToken(ctx, &storage.RefreshToken{
			ID: id, TokenHash: key, FamilyID: id, ClientID: "app", UserID: "u-alice",
			Scopes: []string{"api", "offline_access"}, AuthTime: now, CreatedAt: now,
			ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour),
		}))
		return token
	}
	legacy := func() string { tok := storage.NewToken(); return issue(tok, storage.HashToken(tok)) }
	ordered := func() string { tok := storage.NewOrderedToken(); return issue(tok, storage.TokenKey(tok)) }
	revoked := func(token string) bool {
		rt, err := store.GetRefreshToken(ctx, storage.TokenKey(token))
		must(t, err)
		return !rt.RevokedAt.IsZero()
	}

	for _, tc := range []struct {
		name  string
		token func() string
	}{
		{"issued before ordered tokens", legacy},
		{"ordered", ordered},
	} {
		t.Run(tc.name+"/refresh", func(t *testing.T) {
			next, err := refresh(tc.token())
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if len(next) != 44 || storage.TokenKey(next) == storage.HashToken(next) {
				t.Fatalf("successor %q is not an ordered token", next)
			}
			if _, err := store.GetRefreshToken(ctx, storage.TokenKey(next)); err != nil {
				t.Fatalf("successor not stored by its key: %v", err)
			}
			if _, err := store.GetRefreshToken(ctx, storage.HashToken(next)); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("successor found by its plain hash (%v): it must be stored by its key alone", err)
			}
			if _, err := refresh(next); err != nil {
				t.Errorf("refresh with the successor: %v", err)
			}
		})
		t.Run(tc.name+"/revoke", func(t *testing.T) {
			tok := tc.token()
			must(t, p.revokeRefreshToken(ctx, c, tok))
			if !revoked(tok) {
				t.Fatal("revocation left the family live")
			}
			if _, err := refresh(tok); err == nil {
				t.Error("revoked token refreshed")
			}
		})
	}
}
