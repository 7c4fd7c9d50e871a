package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// RunReplicas runs the cases that need two replicas of one store: newPair
// returns two stores over the same data (for PostgreSQL, two Open calls on
// one database; for the memory store, the same store twice).
//
// The rule pinned: a change that ends a token's liveness, committed
// through replica A, is seen by the very next LivenessVersion or
// GetAccessTokenStatus on replica B (issue 21: no notification has to
// arrive first), and a change to another user leaves the token's version
// alone on both.
func RunReplicas(t *testing.T, newPair func(t *testing.T) (a, b storage.Store)) {
	t.Run("ReplicasSeeRevocations", func(t *testing.T) { testReplicasSeeRevocations(t, newPair) })
}

func testReplicasSeeRevocations(t *testing.T, newPair func(t *testing.T) (a, b storage.Store)) {
	for _, tc := range []struct {
		name        string
		revoke      func(t *testing.T, a storage.Store, sd seed) error
		wantDenied  bool // the jti is on the deny list
		wantVersion bool // the user's version moved
	}{
		{"access-token", func(t *testing.T, a storage.Store, _ seed) error {
			return a.RevokeAccessToken(t.Context(), "jti-1", at(time.Hour))
		}, true, false},
		{"session", func(t *testing.T, a storage.Store, sd seed) error {
			return a.RevokeSession(t.Context(), sd.session.ID, at(0))
		}, false, true},
		{"refresh-family", func(t *testing.T, a storage.Store, _ seed) error {
			return a.RevokeRefreshFamily(t.Context(), "fam-1", at(0))
		}, false, true},
		{"user-disabled", func(t *testing.T, a storage.Store, sd seed) error {
			_, err := a.UpdateUser(t.Context(), sd.user.ID, func(u *storage.User) error { u.Disabled = true; return nil })
			return err
		}, false, true},
		{"inside-a-transaction", func(t *testing.T, a storage.Store, sd seed) error {
			return a.Atomically(t.Context(), func(tx storage.Store) error {
				if _, err := tx.RevokeUserSessions(t.Context(), sd.user.ID, at(0)); err != nil {
					return err
				}
				return tx.RevokeUserRefreshTokens(t.Context(), sd.user.ID, at(0))
			})
		}, false, true},
		{"someone-else-logs-out", func(t *testing.T, a storage.Store, sd seed) error {
			ctx := t.Context()
			mustOK(t, a.CreateSession(ctx, newSession("session-b", sd.user2.ID, at(0))), "CreateSession")
			return a.RevokeSession(ctx, "session-b", at(0))
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			a, b := newPair(t)
			sd := seedRows(t, a)
			rt := newRefreshToken("rt-1", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
			mustOK(t, a.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
			q := storage.AccessTokenQuery{JTI: "jti-1", SessionID: sd.session.ID, FamilyID: "fam-1", UserID: sd.user.ID}
			st, err := b.GetAccessTokenStatus(ctx, q) // B remembers the token live
			mustOK(t, err, "GetAccessTokenStatus on B")
			if st.Revoked || st.FamilyRevoked || st.Session == nil || st.User == nil {
				t.Fatalf("status on B before = %+v, want live", st)
			}
			mustOK(t, tc.revoke(t, a, sd), "revoke on A")
			v, denied, err := b.LivenessVersion(ctx, q.JTI, q.UserID)
			mustOK(t, err, "LivenessVersion on B")
			if denied != tc.wantDenied {
				t.Errorf("denied on B = %v, want %v", denied, tc.wantDenied)
			}
			if moved := v != st.Version; moved != tc.wantVersion {
				t.Errorf("version on B %d → %d; want a change: %v", st.Version, v, tc.wantVersion)
			}
			again, err := b.GetAccessTokenStatus(ctx, q)
			mustOK(t, err, "GetAccessTokenStatus on B")
			if again.Version != v {
				t.Errorf("status on B read at version %d, LivenessVersion says %d", again.Version, v)
			}
		})
	}
}
