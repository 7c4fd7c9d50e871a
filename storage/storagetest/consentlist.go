package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testUserConsents covers what the console's consent section needs: the
// user's consents by client, and withdrawing one (the consent deleted and
// that client's refresh tokens of the user revoked, offline ones too,
// other clients' and other users' kept).
func testUserConsents(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	got, err := s.ListUserConsents(ctx, sd.user.ID)
	mustOK(t, err, "ListUserConsents before any")
	if len(got) != 0 {
		t.Fatalf("ListUserConsents before any = %d consents", len(got))
	}
	for _, c := range []*storage.Consent{
		{UserID: sd.user.ID, ClientID: sd.client2.ID, Scopes: []string{"openid", "email"}, GrantedAt: at(time.Hour)},
		{UserID: sd.user.ID, ClientID: sd.client.ID, Scopes: []string{"openid"}, GrantedAt: at(0)},
		{UserID: sd.user2.ID, ClientID: sd.client.ID, Scopes: []string{"openid"}, GrantedAt: at(0)},
	} {
		mustOK(t, s.SaveConsent(ctx, c), "SaveConsent")
	}
	got, err = s.ListUserConsents(ctx, sd.user.ID)
	mustOK(t, err, "ListUserConsents")
	if len(got) != 2 || got[0].ClientID != sd.client.ID || got[1].ClientID != sd.client2.ID {
		t.Fatalf("ListUserConsents = %+v, want client-1 then client-2", got)
	}
	assertEqual(t, "second consent", &storage.Consent{UserID: sd.user.ID, ClientID: sd.client2.ID,
		Scopes: []string{"openid", "email"}, GrantedAt: at(time.Hour)}, got[1])
	scribble(got)
	again, err := s.ListUserConsents(ctx, sd.user.ID)
	mustOK(t, err, "ListUserConsents")
	assertStrings(t, "scopes after mutating an earlier result", []string{"openid"}, again[0].Scopes)

	mk := func(id, clientID, userID string, scopes ...string) *storage.RefreshToken {
		rt := newRefreshToken(id, "fam-"+id, clientID, userID, sd.session.ID)
		rt.Scopes = scopes
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
		return rt
	}
	online := mk("online", sd.client.ID, sd.user.ID, "openid")
	offline := mk("offline", sd.client.ID, sd.user.ID, "openid", "offline_access")
	otherClient := mk("other-client", sd.client2.ID, sd.user.ID, "openid")
	otherUser := mk("other-user", sd.client.ID, sd.user2.ID, "openid")
	mustOK(t, s.RevokeUserClientRefreshTokens(ctx, sd.user.ID, sd.client.ID, at(0)), "RevokeUserClientRefreshTokens")
	for _, tc := range []struct {
		rt      *storage.RefreshToken
		revoked bool
	}{{online, true}, {offline, true}, {otherClient, false}, {otherUser, false}} {
		rt, err := s.GetRefreshToken(ctx, tc.rt.TokenHash)
		mustOK(t, err, "GetRefreshToken(%s)", tc.rt.ID)
		if !rt.RevokedAt.IsZero() != tc.revoked {
			t.Errorf("%s: revoked %v, want %v", tc.rt.ID, !rt.RevokedAt.IsZero(), tc.revoked)
		}
	}
}
