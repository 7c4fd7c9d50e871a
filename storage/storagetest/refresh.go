package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// successor returns a token for RotateRefreshToken whose family fields are
// deliberately wrong: the store must copy them from the old token.
func successor(id string, created time.Time) *storage.RefreshToken {
	return &storage.RefreshToken{
		ID:              id,
		TokenHash:       storage.HashToken("refresh-" + id),
		FamilyID:        "bogus-family",
		ClientID:        "bogus-client",
		UserID:          "bogus-user",
		SessionID:       "bogus-session",
		Scopes:          []string{"admin"},
		AuthTime:        created.Add(time.Hour),
		AMR:             []string{"bogus"},
		Claims:          storage.RequestedClaims{IDToken: []string{"address"}},
		CreatedAt:       created,
		ExpiresAt:       created.Add(24 * time.Hour),
		FamilyExpiresAt: created.Add(365 * 24 * time.Hour),
		DPoPJKT:         "bogus-jkt",
	}
}

// wantSuccessor is what the store must return for successor(next) of old.
func wantSuccessor(old, next *storage.RefreshToken) *storage.RefreshToken {
	w := *next
	w.FamilyID, w.ClientID, w.UserID, w.SessionID = old.FamilyID, old.ClientID, old.UserID, old.SessionID
	w.Scopes = append([]string(nil), old.Scopes...)
	w.AMR = append([]string(nil), old.AMR...)
	w.Claims = storage.RequestedClaims{IDToken: append([]string(nil), old.Claims.IDToken...),
		UserInfo: append([]string(nil), old.Claims.UserInfo...)}
	w.AuthTime, w.FamilyExpiresAt, w.DPoPJKT = old.AuthTime, old.FamilyExpiresAt, old.DPoPJKT
	w.RotatedAt, w.RevokedAt = time.Time{}, time.Time{}
	return &w
}

func getRefresh(t *testing.T, s storage.Store, hash string) *storage.RefreshToken {
	t.Helper()
	rt, err := s.GetRefreshToken(t.Context(), hash)
	mustOK(t, err, "GetRefreshToken")
	return rt
}

func testRefreshRotation(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)

	in := newRefreshToken("rt-1", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, in), "CreateRefreshToken")
	first := *deepCopy(in)
	scribble(in) // the store must not keep the caller's value

	got := getRefresh(t, s, first.TokenHash)
	assertEqual(t, "GetRefreshToken", &first, got)
	scribble(got)
	assertEqual(t, "GetRefreshToken after mutating an earlier result", &first, getRefresh(t, s, first.TokenHash))

	t.Run("CreateDuplicatesAndMissing", func(t *testing.T) {
		sameID := newRefreshToken("rt-1", "fam-x", sd.client.ID, sd.user.ID, sd.session.ID)
		sameID.TokenHash = storage.HashToken("another token")
		sameHash := newRefreshToken("rt-other", "fam-x", sd.client.ID, sd.user.ID, sd.session.ID)
		sameHash.TokenHash = first.TokenHash
		tests := []struct {
			name  string
			token *storage.RefreshToken
		}{
			{"same ID", sameID},
			{"same hash", sameHash},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, s.CreateRefreshToken(ctx, tc.token), storage.ErrAlreadyExists, "CreateRefreshToken")
			})
		}
		_, err := s.GetRefreshToken(ctx, sameID.TokenHash)
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken of a rejected duplicate")
		_, err = s.GetRefreshToken(ctx, storage.HashToken("unknown"))
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken(unknown)")
		_, err = s.RotateRefreshToken(ctx, storage.HashToken("unknown"), successor("rt-never", at(0)), at(0), storage.ReuseGrace{})
		wantErr(t, err, storage.ErrNotFound, "RotateRefreshToken(unknown)")
		_, err = s.GetRefreshToken(ctx, storage.HashToken("refresh-rt-never"))
		wantErr(t, err, storage.ErrNotFound, "successor of a failed rotation")
	})

	t.Run("RotateCopiesFamily", func(t *testing.T) {
		now := at(time.Minute)
		next := successor("rt-2", now)
		want := wantSuccessor(&first, next)
		got, err := s.RotateRefreshToken(ctx, first.TokenHash, next, now, storage.ReuseGrace{})
		mustOK(t, err, "RotateRefreshToken")
		assertEqual(t, "RotateRefreshToken result", want, got)
		scribble(got)
		scribble(next)
		assertEqual(t, "GetRefreshToken of the successor", want, getRefresh(t, s, want.TokenHash))

		old := first
		old.RotatedAt = now
		assertEqual(t, "rotated token", &old, getRefresh(t, s, first.TokenHash))

		// The chain continues from the successor.
		now3 := at(2 * time.Minute)
		next3 := successor("rt-3", now3)
		got3, err := s.RotateRefreshToken(ctx, want.TokenHash, next3, now3, storage.ReuseGrace{})
		mustOK(t, err, "RotateRefreshToken of the successor")
		assertEqual(t, "third token", wantSuccessor(&first, next3), got3)
	})

	t.Run("RotateIsAtomic", func(t *testing.T) {
		live := newRefreshToken("rt-live", "fam-2", sd.client.ID, sd.user.ID, sd.session.ID)
		mustOK(t, s.CreateRefreshToken(ctx, live), "CreateRefreshToken")
		other := newRefreshToken("rt-taken", "fam-3", sd.client.ID, sd.user.ID, sd.session.ID)
		mustOK(t, s.CreateRefreshToken(ctx, other), "CreateRefreshToken")

		dupID := successor("rt-taken", at(0))
		dupID.TokenHash = storage.HashToken("fresh hash")
		dupHash := successor("rt-fresh", at(0))
		dupHash.TokenHash = other.TokenHash
		tests := []struct {
			name string
			next *storage.RefreshToken
		}{
			{"successor ID taken", dupID},
			{"successor hash taken", dupHash},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.RotateRefreshToken(ctx, live.TokenHash, tc.next, at(0), storage.ReuseGrace{})
				wantErr(t, err, storage.ErrAlreadyExists, "RotateRefreshToken")
				if rt := getRefresh(t, s, live.TokenHash); !rt.RotatedAt.IsZero() || !rt.RevokedAt.IsZero() {
					t.Errorf("failed rotation changed the old token: rotated %v revoked %v", rt.RotatedAt, rt.RevokedAt)
				}
			})
		}
		_, err := s.RotateRefreshToken(ctx, live.TokenHash, successor("rt-live-2", at(0)), at(0), storage.ReuseGrace{})
		mustOK(t, err, "RotateRefreshToken after failed attempts")
	})
}

func testRefreshReuseRevokesFamily(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	t1 := newRefreshToken("rt-1", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, t1), "CreateRefreshToken")
	bystander := newRefreshToken("rt-other-family", "fam-2", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, bystander), "CreateRefreshToken")

	t2, err := s.RotateRefreshToken(ctx, t1.TokenHash, successor("rt-2", at(time.Minute)), at(time.Minute), storage.ReuseGrace{})
	mustOK(t, err, "RotateRefreshToken(t1)")

	reuseAt := at(2 * time.Minute)
	_, err = s.RotateRefreshToken(ctx, t1.TokenHash, successor("rt-2-attacker", reuseAt), reuseAt, storage.ReuseGrace{})
	wantErr(t, err, storage.ErrTokenReused, "RotateRefreshToken of an already rotated token")
	_, err = s.GetRefreshToken(ctx, storage.HashToken("refresh-rt-2-attacker"))
	wantErr(t, err, storage.ErrNotFound, "successor of a reused token")

	tests := []struct {
		name        string
		hash        string
		wantRevoked time.Time
		wantRotated time.Time
	}{
		{"reused token", t1.TokenHash, reuseAt, at(time.Minute)},
		{"its live successor", t2.TokenHash, reuseAt, time.Time{}},
		{"another family", bystander.TokenHash, time.Time{}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := getRefresh(t, s, tc.hash)
			if !rt.RevokedAt.Equal(tc.wantRevoked) || !rt.RotatedAt.Equal(tc.wantRotated) {
				t.Errorf("RevokedAt %v RotatedAt %v; want %v and %v", rt.RevokedAt, rt.RotatedAt, tc.wantRevoked, tc.wantRotated)
			}
		})
	}

	// Once the family is revoked, every member is simply gone: revocation
	// is checked before rotation, and the first revocation time is kept.
	later := at(3 * time.Minute)
	for _, hash := range []string{t2.TokenHash, t1.TokenHash} {
		_, err = s.RotateRefreshToken(ctx, hash, successor("rt-after-revoke", later), later, storage.ReuseGrace{})
		wantErr(t, err, storage.ErrNotFound, "RotateRefreshToken in a revoked family")
		if rt := getRefresh(t, s, hash); !rt.RevokedAt.Equal(reuseAt) {
			t.Errorf("token %s RevokedAt = %v after another attempt, want %v", rt.ID, rt.RevokedAt, reuseAt)
		}
	}
}

func testRefreshExpiry(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	past := time.Date(2001, time.February, 3, 4, 5, 6, 789000, time.UTC)
	future := time.Date(2101, time.February, 3, 4, 5, 6, 789000, time.UTC)
	tests := []struct {
		name            string
		expiresAt       time.Time
		familyExpiresAt time.Time
		now             time.Time
		wantOK          bool
	}{
		{"just before own expiry", at(time.Hour), at(2 * time.Hour), at(time.Hour - time.Microsecond), true},
		{"at own expiry", at(time.Hour), at(2 * time.Hour), at(time.Hour), false},
		{"after own expiry", at(time.Hour), at(2 * time.Hour), at(90 * time.Minute), false},
		{"just before family expiry", at(3 * time.Hour), at(2 * time.Hour), at(2*time.Hour - time.Microsecond), true},
		{"at family expiry", at(3 * time.Hour), at(2 * time.Hour), at(2 * time.Hour), false},
		{"long ago but live (not the wall clock)", past, past.Add(time.Hour), past.Add(-time.Second), true},
		{"far future but expired (not the wall clock)", future, future.Add(time.Hour), future.Add(time.Second), false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "rt-expiry-" + string(rune('a'+i))
			rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sd.session.ID)
			rt.AuthTime, rt.CreatedAt = tc.now.Add(-2*time.Hour), tc.now.Add(-time.Hour)
			rt.ExpiresAt, rt.FamilyExpiresAt = tc.expiresAt, tc.familyExpiresAt
			mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")

			next := successor(id+"-next", tc.now)
			got, err := s.RotateRefreshToken(ctx, rt.TokenHash, next, tc.now, storage.ReuseGrace{})
			if tc.wantOK {
				mustOK(t, err, "RotateRefreshToken")
				if got.FamilyID != rt.FamilyID {
					t.Errorf("successor FamilyID = %q, want %q", got.FamilyID, rt.FamilyID)
				}
				return
			}
			wantErr(t, err, storage.ErrNotFound, "RotateRefreshToken of an expired token")
			// A failed rotation changes nothing.
			assertEqual(t, "expired token after a failed rotation", rt, getRefresh(t, s, rt.TokenHash))
			_, err = s.GetRefreshToken(ctx, next.TokenHash)
			wantErr(t, err, storage.ErrNotFound, "successor of an expired token")
		})
	}

	// Expiry is checked before rotation: presenting a rotated token after it
	// expired is ErrNotFound and leaves its family alone.
	t.Run("rotated then expired", func(t *testing.T) {
		old := newRefreshToken("rt-rotated-expired", "fam-rotated-expired", sd.client.ID, sd.user.ID, sd.session.ID)
		old.ExpiresAt = at(time.Hour)
		mustOK(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken")
		next, err := s.RotateRefreshToken(ctx, old.TokenHash, successor("rt-rotated-expired-2", at(0)), at(0), storage.ReuseGrace{})
		mustOK(t, err, "RotateRefreshToken")
		_, err = s.RotateRefreshToken(ctx, old.TokenHash, successor("rt-rotated-expired-3", at(time.Hour)), at(time.Hour), storage.ReuseGrace{})
		wantErr(t, err, storage.ErrNotFound, "RotateRefreshToken of a rotated, expired token")
		for _, hash := range []string{old.TokenHash, next.TokenHash} {
			if rt := getRefresh(t, s, hash); !rt.RevokedAt.IsZero() {
				t.Errorf("token %s was revoked at %v", rt.ID, rt.RevokedAt)
			}
		}
	})
}

func testRevokeRefreshFamily(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	t1 := newRefreshToken("rt-1", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, t1), "CreateRefreshToken")
	t2, err := s.RotateRefreshToken(ctx, t1.TokenHash, successor("rt-2", at(0)), at(0), storage.ReuseGrace{})
	mustOK(t, err, "RotateRefreshToken")
	other := newRefreshToken("rt-other", "fam-2", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, other), "CreateRefreshToken")

	mustOK(t, s.RevokeRefreshFamily(ctx, "fam-1", at(time.Minute)), "RevokeRefreshFamily")
	mustOK(t, s.RevokeRefreshFamily(ctx, "fam-1", at(time.Hour)), "RevokeRefreshFamily again")
	mustOK(t, s.RevokeRefreshFamily(ctx, "no-such-family", at(time.Hour)), "RevokeRefreshFamily(no-such-family)")

	tests := []struct {
		name        string
		hash        string
		wantRevoked time.Time
	}{
		{"rotated member", t1.TokenHash, at(time.Minute)},
		{"live member", t2.TokenHash, at(time.Minute)},
		{"other family", other.TokenHash, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if rt := getRefresh(t, s, tc.hash); !rt.RevokedAt.Equal(tc.wantRevoked) {
				t.Errorf("RevokedAt = %v, want %v (first revocation kept)", rt.RevokedAt, tc.wantRevoked)
			}
		})
	}
	_, err = s.RotateRefreshToken(ctx, t2.TokenHash, successor("rt-3", at(2*time.Minute)), at(2*time.Minute), storage.ReuseGrace{})
	wantErr(t, err, storage.ErrNotFound, "RotateRefreshToken of a revoked token")
}

func testRevokeSessionRefreshTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateSession(ctx, newSession("session-2", sd.user.ID, at(0))), "CreateSession")

	mk := func(id, sessionID string, scopes ...string) *storage.RefreshToken {
		rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sessionID)
		rt.Scopes = scopes
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
		return rt
	}
	online := mk("online", sd.session.ID, "openid", "profile")
	offline := mk("offline", sd.session.ID, "openid", "offline_access")
	revoked := mk("already-revoked", sd.session.ID, "openid")
	mustOK(t, s.RevokeRefreshFamily(ctx, revoked.FamilyID, at(-time.Hour)), "RevokeRefreshFamily")
	elsewhere := mk("other-session", "session-2", "openid")
	// A rotated token is revoked too, and so is its successor (same session).
	rotated := mk("rotated", sd.session.ID, "openid")
	successor, err := s.RotateRefreshToken(ctx, rotated.TokenHash, successor("rotated-2", at(0)), at(0), storage.ReuseGrace{})
	mustOK(t, err, "RotateRefreshToken")

	mustOK(t, s.RevokeSessionRefreshTokens(ctx, "no-such-session", false, at(0)), "RevokeSessionRefreshTokens(no-such-session)")

	steps := []struct {
		name        string
		keepOffline bool
		at          time.Time
		want        map[*storage.RefreshToken]time.Time
	}{
		{"keep offline tokens", true, at(time.Minute), map[*storage.RefreshToken]time.Time{
			online:    at(time.Minute),
			offline:   {},
			revoked:   at(-time.Hour),
			elsewhere: {},
			rotated:   at(time.Minute),
			successor: at(time.Minute),
		}},
		{"revoke offline tokens too", false, at(2 * time.Minute), map[*storage.RefreshToken]time.Time{
			online:    at(time.Minute),
			offline:   at(2 * time.Minute),
			revoked:   at(-time.Hour),
			elsewhere: {},
			rotated:   at(time.Minute),
			successor: at(time.Minute),
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			mustOK(t, s.RevokeSessionRefreshTokens(ctx, sd.session.ID, step.keepOffline, step.at), "RevokeSessionRefreshTokens")
			for rt, want := range step.want {
				if got := getRefresh(t, s, rt.TokenHash); !got.RevokedAt.Equal(want) {
					t.Errorf("token %s RevokedAt = %v, want %v", rt.ID, got.RevokedAt, want)
				}
			}
		})
	}
}
