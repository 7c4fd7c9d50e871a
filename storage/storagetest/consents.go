package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func testConsent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	u, c := sd.user.ID, sd.client.ID

	_, err := s.GetConsent(ctx, u, c)
	wantErr(t, err, storage.ErrNotFound, "GetConsent before any consent")

	first := &storage.Consent{UserID: u, ClientID: c, Scopes: []string{"openid", "profile"}, GrantedAt: at(0)}
	mustOK(t, s.SaveConsent(ctx, first), "SaveConsent")
	scribble(first)

	got, err := s.GetConsent(ctx, u, c)
	mustOK(t, err, "GetConsent")
	want := &storage.Consent{UserID: u, ClientID: c, Scopes: []string{"openid", "profile"}, GrantedAt: at(0)}
	got.Scopes = sorted(got.Scopes)
	assertEqual(t, "GetConsent", want, got)
	scribble(got)
	got, err = s.GetConsent(ctx, u, c)
	mustOK(t, err, "GetConsent")
	assertStrings(t, "scopes after mutating an earlier result", []string{"openid", "profile"}, sorted(got.Scopes))

	t.Run("SaveAddsScopes", func(t *testing.T) {
		second := &storage.Consent{UserID: u, ClientID: c, Scopes: []string{"email", "openid"}, GrantedAt: at(time.Hour)}
		mustOK(t, s.SaveConsent(ctx, second), "second SaveConsent")
		assertStrings(t, "caller's scopes after SaveConsent", []string{"email", "openid"}, second.Scopes)

		got, err := s.GetConsent(ctx, u, c)
		mustOK(t, err, "GetConsent")
		// The union, each scope once; the latest save sets GrantedAt.
		want := &storage.Consent{UserID: u, ClientID: c, Scopes: []string{"email", "openid", "profile"}, GrantedAt: at(time.Hour)}
		got.Scopes = sorted(got.Scopes)
		assertEqual(t, "consent after a second save", want, got)
		if !got.Covers([]string{"openid", "email", "profile"}) {
			t.Errorf("merged consent does not cover all saved scopes")
		}
	})

	t.Run("DuplicateScopesStoredOnce", func(t *testing.T) {
		c := &storage.Consent{UserID: sd.user2.ID, ClientID: sd.client2.ID, Scopes: []string{"openid", "email", "openid"}, GrantedAt: at(0)}
		mustOK(t, s.SaveConsent(ctx, c), "SaveConsent")
		got, err := s.GetConsent(ctx, c.UserID, c.ClientID)
		mustOK(t, err, "GetConsent")
		assertStrings(t, "scopes of a new consent", []string{"email", "openid"}, sorted(got.Scopes))
		c.Scopes = []string{"profile", "profile", "email"}
		mustOK(t, s.SaveConsent(ctx, c), "SaveConsent again")
		got, err = s.GetConsent(ctx, c.UserID, c.ClientID)
		mustOK(t, err, "GetConsent")
		assertStrings(t, "scopes of a merged consent", []string{"email", "openid", "profile"}, sorted(got.Scopes))
		mustOK(t, s.DeleteConsent(ctx, c.UserID, c.ClientID), "DeleteConsent")
	})

	t.Run("KeyedByUserAndClient", func(t *testing.T) {
		tests := []struct {
			name, user, client string
		}{
			{"same user, other client", u, sd.client2.ID},
			{"other user, same client", sd.user2.ID, c},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.GetConsent(ctx, tc.user, tc.client)
				wantErr(t, err, storage.ErrNotFound, "GetConsent")
				wantErr(t, s.DeleteConsent(ctx, tc.user, tc.client), storage.ErrNotFound, "DeleteConsent")
			})
		}
		before, err := s.GetConsent(ctx, u, c)
		mustOK(t, err, "GetConsent(user-1)")
		other := &storage.Consent{UserID: sd.user2.ID, ClientID: c, Scopes: []string{"openid"}, GrantedAt: at(2 * time.Hour)}
		mustOK(t, s.SaveConsent(ctx, other), "SaveConsent(user-2)")
		got, err := s.GetConsent(ctx, sd.user2.ID, c)
		mustOK(t, err, "GetConsent(user-2)")
		assertEqual(t, "user-2's consent", other, got)
		got, err = s.GetConsent(ctx, u, c)
		mustOK(t, err, "GetConsent(user-1)")
		assertStrings(t, "user-1's scopes after user-2 saved", sorted(before.Scopes), sorted(got.Scopes))
	})

	t.Run("Delete", func(t *testing.T) {
		mustOK(t, s.DeleteConsent(ctx, u, c), "DeleteConsent")
		_, err := s.GetConsent(ctx, u, c)
		wantErr(t, err, storage.ErrNotFound, "GetConsent after delete")
		wantErr(t, s.DeleteConsent(ctx, u, c), storage.ErrNotFound, "DeleteConsent twice")
		_, err = s.GetConsent(ctx, sd.user2.ID, c)
		mustOK(t, err, "GetConsent of another user after delete")

		// After deletion, a save starts from nothing.
		fresh := &storage.Consent{UserID: u, ClientID: c, Scopes: []string{"openid"}, GrantedAt: at(3 * time.Hour)}
		mustOK(t, s.SaveConsent(ctx, fresh), "SaveConsent after delete")
		got, err := s.GetConsent(ctx, u, c)
		mustOK(t, err, "GetConsent")
		assertEqual(t, "consent saved after delete", fresh, got)
	})
}
