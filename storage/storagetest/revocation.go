package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testRefreshReuseGrace: a rotated token presented again inside the grace
// window gets another successor, at most MaxReuses times; after that, or
// after the window, it is a reuse and revokes the family. Without grace
// the first replay revokes.
func testRefreshReuseGrace(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	grace := storage.ReuseGrace{Window: 10 * time.Second, MaxReuses: 1}
	mk := func(id string) *storage.RefreshToken {
		rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sd.session.ID)
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
		_, err := s.RotateRefreshToken(ctx, rt.TokenHash, successor(id+"-1", at(0)), at(0), grace)
		mustOK(t, err, "first rotation of %s", id)
		return rt
	}
	tests := []struct {
		name      string
		grace     storage.ReuseGrace
		replays   []time.Duration // times of the replays after the rotation at t0
		wantOK    int             // how many replays get a successor
		wantReuse bool            // whether the last replay revokes the family
	}{
		{"T9/no-grace-first-replay-revokes", storage.ReuseGrace{}, []time.Duration{time.Second}, 0, true},
		{"T9/grace-window-accepts-one-replay", grace, []time.Duration{time.Second}, 1, false},
		{"T9/grace-max-reuses-then-revokes", grace, []time.Duration{time.Second, 2 * time.Second}, 1, true},
		{"T9/grace-window-boundary-revokes", grace, []time.Duration{10 * time.Second}, 0, true},
		{"T9/grace-needs-both-limits", storage.ReuseGrace{Window: time.Minute}, []time.Duration{time.Second}, 0, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := string(rune('a' + i))
			old := mk("grace-" + id)
			ok := 0
			var lastErr error
			for j, d := range tc.replays {
				_, lastErr = s.RotateRefreshToken(ctx, old.TokenHash, successor("grace-"+id+"-r"+string(rune('0'+j)), at(d)), at(d), tc.grace)
				if lastErr == nil {
					ok++
				}
			}
			if ok != tc.wantOK {
				t.Errorf("%d replays got a successor, want %d", ok, tc.wantOK)
			}
			got := getRefresh(t, s, old.TokenHash)
			if tc.wantReuse {
				wantErr(t, lastErr, storage.ErrTokenReused, "last replay")
				if got.RevokedAt.IsZero() {
					t.Errorf("family not revoked after a replay outside the grace")
				}
				return
			}
			mustOK(t, lastErr, "replay inside the grace")
			if got.Reuses != tc.wantOK || !got.RevokedAt.IsZero() || !got.RotatedAt.Equal(at(0)) {
				t.Errorf("old token Reuses %d RevokedAt %v RotatedAt %v; want %d, zero, %v", got.Reuses, got.RevokedAt, got.RotatedAt, tc.wantOK, at(0))
			}
		})
	}
}

// testPartlyRevokedFamily: a family with one revoked member counts as
// revoked (a revocation that raced a rotation cannot leave a live branch).
func testPartlyRevokedFamily(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateSession(ctx, newSession("session-2", sd.user.ID, at(0))), "CreateSession")
	live := newRefreshToken("rt-live", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
	other := newRefreshToken("rt-other-session", "fam-1", sd.client.ID, sd.user.ID, "session-2")
	mustOK(t, s.CreateRefreshToken(ctx, live), "CreateRefreshToken")
	mustOK(t, s.CreateRefreshToken(ctx, other), "CreateRefreshToken")
	mustOK(t, s.RevokeSessionRefreshTokens(ctx, "session-2", false, at(0)), "RevokeSessionRefreshTokens")

	_, err := s.RotateRefreshToken(ctx, live.TokenHash, successor("rt-live-2", at(time.Second)), at(time.Second), storage.ReuseGrace{})
	wantErr(t, err, storage.ErrNotFound, "rotating a member of a partly revoked family")
	st, err := s.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{FamilyID: "fam-1"})
	mustOK(t, err, "GetAccessTokenStatus")
	if !st.FamilyRevoked {
		t.Errorf("partly revoked family reported live")
	}
}

func testRevokeUserRefreshTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mk := func(id, userID string, scopes ...string) *storage.RefreshToken {
		rt := newRefreshToken(id, "fam-"+id, sd.client.ID, userID, sd.session.ID)
		rt.Scopes = scopes
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
		return rt
	}
	online := mk("online", sd.user.ID, "openid")
	offline := mk("offline", sd.user.ID, "openid", "offline_access")
	earlier := mk("earlier", sd.user.ID, "openid")
	mustOK(t, s.RevokeRefreshFamily(ctx, earlier.FamilyID, at(-time.Hour)), "RevokeRefreshFamily")
	bobs := mk("bobs", sd.user2.ID, "openid", "offline_access")

	mustOK(t, s.RevokeUserRefreshTokens(ctx, sd.user.ID, at(0)), "RevokeUserRefreshTokens")
	mustOK(t, s.RevokeUserRefreshTokens(ctx, "no-such-user", at(0)), "RevokeUserRefreshTokens(no-such-user)")
	for _, tc := range []struct {
		name string
		rt   *storage.RefreshToken
		want time.Time
	}{
		{"S6/online-token-revoked", online, at(0)},
		{"S6/offline-token-revoked-too", offline, at(0)},
		{"first-revocation-kept", earlier, at(-time.Hour)},
		{"other-user-untouched", bobs, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := getRefresh(t, s, tc.rt.TokenHash); !got.RevokedAt.Equal(tc.want) {
				t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, tc.want)
			}
		})
	}
}

func testAccessTokenDenyList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	isRevoked := func(jti string) bool {
		t.Helper()
		ok, err := s.IsAccessTokenRevoked(ctx, jti)
		mustOK(t, err, "IsAccessTokenRevoked(%s)", jti)
		return ok
	}
	if isRevoked("jti-1") {
		t.Fatalf("unknown jti reported revoked")
	}
	mustOK(t, s.RevokeAccessToken(ctx, "jti-1", at(time.Minute)), "RevokeAccessToken")
	mustOK(t, s.RevokeAccessToken(ctx, "jti-1", at(30*time.Second)), "RevokeAccessToken again (earlier expiry)")
	mustOK(t, s.RevokeAccessToken(ctx, "jti-2", at(2*time.Minute)), "RevokeAccessToken")
	if !isRevoked("jti-1") || !isRevoked("jti-2") || isRevoked("jti-3") {
		t.Fatalf("deny list does not hold what was revoked")
	}
	// An entry lives until its token's expiry: removed when it expired
	// before now, kept at the instant itself. The later expiry was kept.
	steps := []struct {
		name        string
		now         time.Time
		wantRemoved int
		wantDenied  []string
	}{
		{"before-any-expiry", at(30 * time.Second), 0, []string{"jti-1", "jti-2"}},
		{"at-expiry-kept", at(time.Minute), 0, []string{"jti-1", "jti-2"}},
		{"after-expiry-removed", at(time.Minute + time.Microsecond), 1, []string{"jti-2"}},
		{"all-expired", at(time.Hour), 1, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			n, err := s.DeleteExpiredAccessTokenRevocations(ctx, st.now, 100)
			mustOK(t, err, "DeleteExpiredAccessTokenRevocations")
			if n != st.wantRemoved {
				t.Errorf("removed %d, want %d", n, st.wantRemoved)
			}
			var denied []string
			for _, jti := range []string{"jti-1", "jti-2"} {
				if isRevoked(jti) {
					denied = append(denied, jti)
				}
			}
			assertStrings(t, "denied jtis", st.wantDenied, denied)
		})
	}
}

func testAccessTokenStatus(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	live := newRefreshToken("rt-live", "fam-live", sd.client.ID, sd.user.ID, sd.session.ID)
	dead := newRefreshToken("rt-dead", "fam-dead", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, live), "CreateRefreshToken")
	mustOK(t, s.CreateRefreshToken(ctx, dead), "CreateRefreshToken")
	mustOK(t, s.RevokeRefreshFamily(ctx, "fam-dead", at(0)), "RevokeRefreshFamily")
	mustOK(t, s.RevokeAccessToken(ctx, "jti-revoked", at(time.Hour)), "RevokeAccessToken")

	tests := []struct {
		name string
		q    storage.AccessTokenQuery
		want storage.AccessTokenStatus
	}{
		{"nothing-asked", storage.AccessTokenQuery{}, storage.AccessTokenStatus{}},
		{"all-live", storage.AccessTokenQuery{JTI: "jti-ok", SessionID: sd.session.ID, FamilyID: "fam-live", UserID: sd.user.ID},
			storage.AccessTokenStatus{Session: ptr(sd.session.LivenessView()), User: ptr(sd.user.ClaimsView())}},
		{"revoked-jti", storage.AccessTokenQuery{JTI: "jti-revoked"}, storage.AccessTokenStatus{Revoked: true}},
		{"revoked-family", storage.AccessTokenQuery{FamilyID: "fam-dead"}, storage.AccessTokenStatus{FamilyRevoked: true}},
		{"unknown-family-is-revoked", storage.AccessTokenQuery{FamilyID: "no-such-family"}, storage.AccessTokenStatus{FamilyRevoked: true}},
		{"unknown-session-and-user", storage.AccessTokenQuery{SessionID: "no-such-session", UserID: "no-such-user"}, storage.AccessTokenStatus{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAccessTokenStatus(ctx, tc.q)
			mustOK(t, err, "GetAccessTokenStatus")
			if tc.q.UserID != "" {
				version, _, err := s.LivenessVersion(ctx, "", tc.q.UserID)
				mustOK(t, err, "LivenessVersion")
				tc.want.Version = version // read at the user's current version
			}
			assertEqual(t, "access token status", &tc.want, got)
		})
	}
	t.Run("revoked-session-is-returned-as-is", func(t *testing.T) {
		mustOK(t, s.RevokeSession(ctx, sd.session.ID, at(time.Minute)), "RevokeSession")
		got, err := s.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{SessionID: sd.session.ID})
		mustOK(t, err, "GetAccessTokenStatus")
		if got.Session == nil || !got.Session.RevokedAt.Equal(at(time.Minute)) {
			t.Fatalf("session = %+v, want the revoked session", got.Session)
		}
	})
}
