package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testUserRefreshClients covers the apps the account page lists: the
// clients holding a live refresh token of the user, each once, sorted;
// revoked, rotated and expired tokens and other users' do not count.
func testUserRefreshClients(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	got, err := s.ListUserRefreshClients(ctx, sd.user.ID, at(0))
	mustOK(t, err, "ListUserRefreshClients before any")
	if len(got) != 0 {
		t.Fatalf("before any token: %q", got)
	}
	mk := func(id, clientID, userID string, change func(*storage.RefreshToken)) {
		rt := newRefreshToken(id, "fam-"+id, clientID, userID, sd.session.ID)
		if change != nil {
			change(rt)
		}
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
	}
	mk("live-2", sd.client2.ID, sd.user.ID, nil)
	mk("live-1", sd.client.ID, sd.user.ID, nil)
	mk("live-1b", sd.client.ID, sd.user.ID, nil)
	mk("other-user", sd.client.ID, sd.user2.ID, nil)
	assertStrings(t, "live clients", []string{sd.client.ID, sd.client2.ID}, mustList(t, s, sd.user.ID, at(0)))

	mustOK(t, s.RevokeUserClientRefreshTokens(ctx, sd.user.ID, sd.client.ID, at(0)), "RevokeUserClientRefreshTokens")
	assertStrings(t, "after revoking client-1", []string{sd.client2.ID}, mustList(t, s, sd.user.ID, at(0)))
	assertStrings(t, "after client-2's token expired", nil, mustList(t, s, sd.user.ID, at(25*time.Hour)))
}

func mustList(t *testing.T, s storage.Store, userID string, now time.Time) []string {
	t.Helper()
	got, err := s.ListUserRefreshClients(t.Context(), userID, now)
	mustOK(t, err, "ListUserRefreshClients")
	return got
}
