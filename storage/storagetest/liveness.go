package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testLivenessVersion: every change that can end one of a user's tokens'
// liveness, or change what GetAccessTokenStatus returns for it, increases
// that user's version once it is done, and leaves a bystander's version
// alone (issue 21: other people's logouts cost nothing); the hot paths that
// only keep tokens alive (a session touched, a token rotated, a session or
// token created) leave both alone, so a cached status survives them. A
// deny-list entry moves no version: LivenessVersion reports it directly.
func testLivenessVersion(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	other := newSession("session-2", sd.user.ID, at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, other), "CreateSession")
	// The bystander has a session, a token and a group of their own.
	mustOK(t, s.CreateSession(ctx, newSession("session-b", sd.user2.ID, at(-time.Hour))), "CreateSession")
	mustOK(t, s.CreateRefreshToken(ctx, newRefreshToken("rt-b", "fam-b", sd.client2.ID, sd.user2.ID, "session-b")),
		"CreateRefreshToken(rt-b)")
	mustOK(t, s.CreateGroup(ctx, newGroup("group-b", "bystanders")), "CreateGroup")
	mustOK(t, s.AddGroupMember(ctx, "group-b", sd.user2.ID), "AddGroupMember")
	mustOK(t, s.CreateGroup(ctx, newGroup("group-a", "alices")), "CreateGroup")
	for i, id := range []string{"rt-1", "rt-2", "rt-3", "rt-4"} {
		rt := newRefreshToken(id, "fam-"+id, sd.client.ID, sd.user.ID, sd.session.ID)
		if i == 3 {
			rt.SessionID = other.ID
		}
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
	}
	version := func(userID string) int64 {
		t.Helper()
		v, revoked, err := s.LivenessVersion(ctx, "jti-unknown", userID)
		mustOK(t, err, "LivenessVersion")
		if revoked {
			t.Fatal("LivenessVersion: an unknown jti is revoked")
		}
		return v
	}
	if v := version("no-such-user"); v != 0 {
		t.Errorf("version of an unknown user = %d, want 0", v)
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
		{"prune-expired-rotated-member", func() error {
			rt := newRefreshToken("rt-3-old", "fam-rt-3", sd.client.ID, sd.user.ID, sd.session.ID)
			rt.ExpiresAt, rt.RotatedAt = at(-time.Minute), at(-time.Hour)
			mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(rt-3-old)")
			if _, err := s.DeleteDeadRefreshFamilies(ctx, at(0), 10); err != nil {
				return err
			}
			if _, err := s.GetRefreshToken(ctx, storage.HashToken("refresh-rt-3-old")); err == nil {
				t.Error("the expired rotated member is still there")
			}
			return nil
		}, false}, // the family keeps its head: nothing a token is checked against changed
		{"deny-list-entry", func() error { return s.RevokeAccessToken(ctx, "jti-1", at(time.Hour)) }, false},
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
		{"add-member", func() error { return s.AddGroupMember(ctx, "group-a", sd.user.ID) }, true},
		{"rename-group", func() error { _, err := s.RenameGroup(ctx, "group-a", "alice-team", at(0)); return err }, true},
		{"remove-member", func() error { return s.RemoveGroupMember(ctx, "group-a", sd.user.ID) }, true},
		{"end-session", func() error { _, err := s.EndSession(ctx, other.ID, at(0)); return err }, false},
		{"delete-ended-live-session", func() error {
			n, err := s.DeleteEndedSessions(ctx, at(time.Hour), 10)
			if err == nil && n != 1 {
				t.Errorf("DeleteEndedSessions = %d, want 1", n)
			}
			return err
		}, true},
		{"revoke-session", func() error { return s.RevokeSession(ctx, "session-3", at(0)) }, true},
		{"revoke-user-sessions", func() error { _, err := s.RevokeUserSessions(ctx, sd.user.ID, at(0)); return err }, true},
		{"delete-dead-family", func() error {
			n, err := s.DeleteDeadRefreshFamilies(ctx, at(time.Hour), 1)
			if err == nil && n != 1 {
				t.Errorf("DeleteDeadRefreshFamilies = %d, want 1", n)
			}
			return err
		}, false}, // every token of a dead family was revoked: that counted
		{"update-user", func() error {
			_, err := s.UpdateUser(ctx, sd.user.ID, func(u *storage.User) error { u.Disabled = true; return nil })
			return err
		}, true},
		{"set-password-hash", func() error {
			return s.SetPasswordHash(ctx, sd.user.ID, sd.user.PasswordHash, "new-hash")
		}, true},
		{"delete-client-with-live-tokens", func() error {
			rt := newRefreshToken("rt-5", "fam-rt-5", sd.client.ID, sd.user.ID, "")
			mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(rt-5)")
			return s.DeleteClient(ctx, sd.client.ID)
		}, true},
		{"delete-user", func() error { return s.DeleteUser(ctx, sd.user.ID) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, bystander := version(sd.user.ID), version(sd.user2.ID)
			mustOK(t, tc.change(), "%s", tc.name)
			after := version(sd.user.ID)
			if bumped := after > before; bumped != tc.wantBump {
				t.Fatalf("version %d → %d; want an increase: %v", before, after, tc.wantBump)
			}
			if v := version(sd.user2.ID); v != bystander {
				t.Errorf("the bystander's version moved %d → %d", bystander, v)
			}
		})
	}
	t.Run("deny-list-is-read-directly", func(t *testing.T) {
		for _, tc := range []struct {
			jti  string
			want bool
		}{{"jti-1", true}, {"jti-2", false}, {"", false}} {
			_, revoked, err := s.LivenessVersion(ctx, tc.jti, sd.user2.ID)
			mustOK(t, err, "LivenessVersion")
			if revoked != tc.want {
				t.Errorf("LivenessVersion(%q) revoked = %v, want %v", tc.jti, revoked, tc.want)
			}
		}
	})
	t.Run("bystander-changes-move-only-the-bystander", func(t *testing.T) {
		before := version(sd.user2.ID)
		mustOK(t, s.RevokeSession(ctx, "session-b", at(0)), "RevokeSession")
		if v := version(sd.user2.ID); v <= before {
			t.Errorf("the bystander's version %d after their session was revoked, was %d", v, before)
		}
		before = version(sd.user2.ID)
		_, err := s.RenameGroup(ctx, "group-b", "bystanders-2", at(0))
		mustOK(t, err, "RenameGroup")
		if v := version(sd.user2.ID); v <= before {
			t.Errorf("the bystander's version %d after their group was renamed, was %d", v, before)
		}
		before = version(sd.user2.ID)
		mustOK(t, s.DeleteGroup(ctx, "group-b"), "DeleteGroup")
		if v := version(sd.user2.ID); v <= before {
			t.Errorf("the bystander's version %d after their group was deleted, was %d", v, before)
		}
	})
}
