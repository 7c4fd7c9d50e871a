package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testRotateRefreshGrant: the one-statement rotation rotates exactly when
// RotateRefreshToken would succeed and every condition holds (client,
// scopes, DPoP key, an enabled user in an allowed group, a session Active
// at now unless offline_access, with the idle boundary as
// Session.Active draws it); otherwise it returns ErrNotFound and changes
// nothing: the token is not rotated, its family not revoked.
func testRotateRefreshGrant(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	now := at(0)
	disabled := newUser("user-3", "carol")
	disabled.Disabled = true
	mustOK(t, s.CreateUser(ctx, disabled), "CreateUser(disabled)")
	mustOK(t, s.CreateGroup(ctx, newGroup("group-s", "staff")), "CreateGroup")
	mustOK(t, s.AddGroupMember(ctx, "group-s", sd.user.ID), "AddGroupMember")
	revoked := newSession("session-revoked", sd.user.ID, at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, revoked), "CreateSession")
	mustOK(t, s.RevokeSession(ctx, revoked.ID, at(-time.Minute)), "RevokeSession")
	// sd.session was last seen at(-3h + 1m), truncated to microseconds as
	// stored: idle exactly since then ends it at now.
	seen := sd.session.LastSeenAt.Truncate(time.Microsecond)
	idleToNow := now.Sub(seen)
	offline := []string{"openid", "offline_access"}
	grace := storage.ReuseGrace{Window: time.Minute, MaxReuses: 1}
	base := storage.RefreshConditions{ClientID: sd.client.ID}

	for i, tc := range []struct {
		name      string
		token     func(*storage.RefreshToken)
		cond      func(*storage.RefreshConditions)
		grace     storage.ReuseGrace
		rotate    bool
		live      bool // SessionLive when rotated
		graceUsed bool
	}{
		{name: "plain", rotate: true, live: true},
		{name: "other-client", cond: func(c *storage.RefreshConditions) { c.ClientID = sd.client2.ID }},
		{name: "narrower-scopes", cond: func(c *storage.RefreshConditions) { c.Scopes = []string{"openid"} }, rotate: true, live: true},
		{name: "all-scopes", cond: func(c *storage.RefreshConditions) { c.Scopes = []string{"profile", "openid"} }, rotate: true, live: true},
		{name: "scope-not-granted", cond: func(c *storage.RefreshConditions) { c.Scopes = []string{"openid", "email"} }},
		{name: "bound-same-key", token: func(rt *storage.RefreshToken) { rt.DPoPJKT = "jkt-1" },
			cond: func(c *storage.RefreshConditions) { c.DPoPJKT = "jkt-1" }, rotate: true, live: true},
		{name: "bound-other-key", token: func(rt *storage.RefreshToken) { rt.DPoPJKT = "jkt-1" },
			cond: func(c *storage.RefreshConditions) { c.DPoPJKT = "jkt-2" }},
		{name: "bound-no-proof", token: func(rt *storage.RefreshToken) { rt.DPoPJKT = "jkt-1" }},
		{name: "unbound-with-proof", cond: func(c *storage.RefreshConditions) { c.DPoPJKT = "jkt-1" }, rotate: true, live: true},
		{name: "disabled-user", token: func(rt *storage.RefreshToken) { rt.UserID = disabled.ID }},
		{name: "in-allowed-group", cond: func(c *storage.RefreshConditions) { c.AllowedGroups = []string{"ops", "staff"} },
			rotate: true, live: true},
		{name: "not-in-allowed-group", cond: func(c *storage.RefreshConditions) { c.AllowedGroups = []string{"ops"} }},
		{name: "session-idle-to-the-microsecond", cond: func(c *storage.RefreshConditions) { c.SessionIdle = idleToNow }},
		{name: "session-idle-a-microsecond-later", cond: func(c *storage.RefreshConditions) { c.SessionIdle = idleToNow + time.Microsecond },
			rotate: true, live: true},
		{name: "session-idle-offline", token: func(rt *storage.RefreshToken) { rt.Scopes = offline },
			cond: func(c *storage.RefreshConditions) { c.SessionIdle = time.Hour }, rotate: true},
		{name: "session-revoked", token: func(rt *storage.RefreshToken) { rt.SessionID = revoked.ID }},
		{name: "session-revoked-offline", token: func(rt *storage.RefreshToken) { rt.SessionID, rt.Scopes = revoked.ID, offline }, rotate: true},
		{name: "no-session-offline", token: func(rt *storage.RefreshToken) { rt.SessionID, rt.Scopes = "", offline }, rotate: true},
		{name: "no-session", token: func(rt *storage.RefreshToken) { rt.SessionID = "" }},
		{name: "revoked", token: func(rt *storage.RefreshToken) { rt.RevokedAt = at(-time.Minute) }},
		{name: "expired", token: func(rt *storage.RefreshToken) { rt.ExpiresAt = now }},
		{name: "family-expired", token: func(rt *storage.RefreshToken) { rt.FamilyExpiresAt = now }},
		{name: "rotated", token: func(rt *storage.RefreshToken) { rt.RotatedAt = at(-time.Second) }},
		{name: "rotated-in-grace", token: func(rt *storage.RefreshToken) { rt.RotatedAt = at(-time.Second) },
			grace: grace, rotate: true, live: true, graceUsed: true},
		{name: "rotated-grace-used-up", token: func(rt *storage.RefreshToken) { rt.RotatedAt, rt.Reuses = at(-time.Second), 1 }, grace: grace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("rg-%d", i)
			rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sd.session.ID)
			rt.DPoPJKT = "" // unbound unless the case binds it
			if tc.token != nil {
				tc.token(rt)
			}
			mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
			cond := base
			if tc.cond != nil {
				tc.cond(&cond)
			}
			next := successor(id+"-next", now)
			got, err := s.RotateRefreshGrant(ctx, rt.TokenHash, next, now, tc.grace, cond)
			if !tc.rotate {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("RotateRefreshGrant = %+v, %v; want ErrNotFound", got, err)
				}
				after := getRefresh(t, s, rt.TokenHash)
				if !after.RotatedAt.Equal(rt.RotatedAt.Truncate(time.Microsecond)) || after.Reuses != rt.Reuses ||
					!after.RevokedAt.Equal(rt.RevokedAt.Truncate(time.Microsecond)) {
					t.Errorf("a refused rotation changed the token: rotated %v reuses %d revoked %v",
						after.RotatedAt, after.Reuses, after.RevokedAt)
				}
				_, err = s.GetRefreshToken(ctx, next.TokenHash)
				wantErr(t, err, storage.ErrNotFound, "the successor of a refused rotation")
				return
			}
			mustOK(t, err, "RotateRefreshGrant")
			assertEqual(t, "successor", wantSuccessor(rt, next), got.Token)
			if got.User == nil || got.User.ID != rt.UserID {
				t.Fatalf("user = %+v, want %s", got.User, rt.UserID)
			}
			if want := []string{"staff"}; fmt.Sprint(got.User.Groups) != fmt.Sprint(want) {
				t.Errorf("user groups = %v, want %v", got.User.Groups, want)
			}
			if got.SessionLive != tc.live || got.GraceReuse != tc.graceUsed {
				t.Errorf("SessionLive, GraceReuse = %v, %v; want %v, %v", got.SessionLive, got.GraceReuse, tc.live, tc.graceUsed)
			}
			after := getRefresh(t, s, rt.TokenHash)
			if after.RotatedAt.IsZero() || (tc.graceUsed && after.Reuses != rt.Reuses+1) {
				t.Errorf("presented token after rotation: rotated %v reuses %d", after.RotatedAt, after.Reuses)
			}
			getRefresh(t, s, next.TokenHash)
		})
	}
}

// testConcurrentRotateRefreshGrant: of N concurrent one-statement
// rotations of one token exactly one succeeds; the others rotate nothing
// and revoke nothing (ErrNotFound: the caller diagnoses the reuse).
func testConcurrentRotateRefreshGrant(t *testing.T, s storage.Store) {
	const n = 20
	ctx := t.Context()
	sd := seedRows(t, s)
	old := newRefreshToken("rg-race", "fam-rg-race", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken")
	now := at(time.Minute)
	cond := storage.RefreshConditions{ClientID: sd.client.ID, DPoPJKT: old.DPoPJKT}
	errs := race(n, func(i int) error {
		_, err := s.RotateRefreshGrant(ctx, old.TokenHash, successor(fmt.Sprintf("rg-race-%d", i), now), now, storage.ReuseGrace{}, cond)
		return err
	})
	ok, counts := tally(t, "RotateRefreshGrant", errs, storage.ErrNotFound)
	if ok != 1 || counts[storage.ErrNotFound] != n-1 {
		t.Fatalf("%d concurrent RotateRefreshGrant: %d succeeded, %d rotated nothing; want 1 and %d", n, ok, counts[storage.ErrNotFound], n-1)
	}
	if rt := getRefresh(t, s, old.TokenHash); !rt.RotatedAt.Equal(now) || !rt.RevokedAt.IsZero() {
		t.Errorf("presented token: rotated %v, revoked %v; want rotated at %v and not revoked", rt.RotatedAt, rt.RevokedAt, now)
	}
}
