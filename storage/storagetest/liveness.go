package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testLivenessEpoch: every change that can end a token's liveness, or
// change what GetAccessTokenStatus returns, increases the epoch once it is
// done; the hot paths that only keep tokens alive (a session touched, a
// token rotated, a session or token created) leave it alone, so a cached
// status survives them.
func testLivenessEpoch(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	other := newSession("session-2", sd.user.ID, at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, other), "CreateSession")
	for i, id := range []string{"rt-1", "rt-2", "rt-3", "rt-4"} {
		rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sd.session.ID)
		if i == 3 {
			rt.SessionID = other.ID
		}
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
	}
	epoch := func() int64 {
		t.Helper()
		e, err := s.LivenessEpoch(ctx)
		mustOK(t, err, "LivenessEpoch")
		return e
	}
	for _, tc := range []struct {
		name     string
		change   func() error
		wantBump bool
	}{
		{"touch-session", func() error { return s.TouchSession(ctx, sd.session.ID, at(time.Minute)) }, false},
		{"create-session", func() error { return s.CreateSession(ctx, newSession("session-3", sd.user.ID, at(0))) }, false},
		{"rotate-refresh-token", func() error {
			_, err := s.RotateRefreshToken(ctx, storage.HashToken("refresh-rt-1"), successor("rt-1b", at(0)), at(0), storage.ReuseGrace{})
			return err
		}, false},
		{"deny-list-entry", func() error { return s.RevokeAccessToken(ctx, "jti-1", at(time.Hour)) }, true},
		{"refresh-reuse-revokes-family", func() error {
			_, err := s.RotateRefreshToken(ctx, storage.HashToken("refresh-rt-1"), successor("rt-1c", at(0)), at(0), storage.ReuseGrace{})
			if err == nil {
				t.Error("reuse of a rotated token succeeded")
			}
			return nil
		}, true},
		{"revoke-family", func() error { return s.RevokeRefreshFamily(ctx, "fam-rt-2", at(0)) }, true},
		{"revoke-session-tokens", func() error { return s.RevokeSessionRefreshTokens(ctx, sd.session.ID, false, at(0)) }, true},
		{"revoke-user-tokens", func() error { return s.RevokeUserRefreshTokens(ctx, sd.user.ID, at(0)) }, true},
		{"revoke-session", func() error { return s.RevokeSession(ctx, other.ID, at(0)) }, true},
		{"revoke-user-sessions", func() error { _, err := s.RevokeUserSessions(ctx, sd.user.ID, at(0)); return err }, true},
		{"delete-ended-session", func() error {
			if _, err := s.EndSession(ctx, other.ID, at(0)); err != nil {
				return err
			}
			n, err := s.DeleteEndedSessions(ctx, at(time.Hour), 10)
			if err == nil && n != 1 {
				t.Errorf("DeleteEndedSessions = %d, want 1", n)
			}
			return err
		}, true},
		{"delete-dead-family", func() error {
			n, err := s.DeleteDeadRefreshFamilies(ctx, at(time.Hour), 1)
			if err == nil && n != 1 {
				t.Errorf("DeleteDeadRefreshFamilies = %d, want 1", n)
			}
			return err
		}, true},
		{"update-user", func() error {
			_, err := s.UpdateUser(ctx, sd.user.ID, func(u *storage.User) error { u.Disabled = true; return nil })
			return err
		}, true},
		{"set-password-hash", func() error {
			return s.SetPasswordHash(ctx, sd.user.ID, sd.user.PasswordHash, "new-hash")
		}, true},
		{"delete-client", func() error { return s.DeleteClient(ctx, sd.client.ID) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := epoch()
			mustOK(t, tc.change(), "%s", tc.name)
			after := epoch()
			if bumped := after > before; bumped != tc.wantBump {
				t.Fatalf("epoch %d → %d; want an increase: %v", before, after, tc.wantBump)
			}
		})
	}
}
