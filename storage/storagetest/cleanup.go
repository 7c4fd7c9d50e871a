package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// drain calls del with the batch limit until a batch comes back short and
// returns the total and the number of calls.
func drain(t *testing.T, limit int, del func(limit int) (int, error)) (total, calls int) {
	t.Helper()
	for calls < 100 {
		n, err := del(limit)
		mustOK(t, err, "cleanup batch")
		if n > limit {
			t.Fatalf("batch deleted %d, more than its limit %d", n, limit)
		}
		total, calls = total+n, calls+1
		if n < limit {
			return total, calls
		}
	}
	t.Fatal("cleanup never finished")
	return 0, 0
}

// testCleanupBatches: every cleanup method deletes at most limit rows per
// call, only rows past the cut-off, and a non-positive limit is an error.
func testCleanupBatches(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	const dead, live, limit = 7, 3, 3
	for i := range dead + live {
		exp := at(-time.Minute)
		if i >= dead {
			exp = at(time.Hour)
		}
		r := newAuthRequest(fmt.Sprintf("req-%02d", i), sd.client.ID)
		r.ExpiresAt = exp
		mustOK(t, s.CreateAuthRequest(ctx, r), "CreateAuthRequest")
		mustOK(t, s.RevokeAccessToken(ctx, fmt.Sprintf("jti-%02d", i), exp), "RevokeAccessToken")
		mustOK(t, s.UseClientAssertion(ctx, sd.client.ID, fmt.Sprintf("assertion-%02d", i), exp, at(-2*time.Hour)), "UseClientAssertion")
		policy := storage.ThrottlePolicy{Window: time.Minute, Free: 5, Delay: time.Second, MaxDelay: time.Minute}
		when := at(-2 * time.Minute)
		if i >= dead {
			when = at(0)
		}
		_, _, err := s.RecordLoginFailure(ctx, fmt.Sprintf("ip:192.0.2.%d", i), when, policy)
		mustOK(t, err, "RecordLoginFailure")
	}
	for _, tc := range []struct {
		name string
		del  func(limit int) (int, error)
	}{
		{"AuthRequests", func(l int) (int, error) { return s.DeleteExpiredAuthRequests(ctx, at(0), l) }},
		{"AccessTokenRevocations", func(l int) (int, error) { return s.DeleteExpiredAccessTokenRevocations(ctx, at(0), l) }},
		{"LoginThrottles", func(l int) (int, error) { return s.DeleteExpiredLoginThrottles(ctx, at(0), l) }},
		{"Grants", func(l int) (int, error) { return s.DeleteExpiredGrants(ctx, at(0), l) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.del(0); err == nil {
				t.Error("limit 0 accepted")
			}
			total, calls := drain(t, limit, tc.del)
			if total != dead || calls != 3 {
				t.Errorf("deleted %d in %d batches of %d, want %d in 3", total, calls, limit, dead)
			}
		})
	}
	for i := range dead + live {
		// A live assertion jti is still a replay; a deleted one was expired
		// anyway, so either way the store answers as before the cleanup.
		if i >= dead {
			wantErr(t, s.UseClientAssertion(ctx, sd.client.ID, fmt.Sprintf("assertion-%02d", i), at(2*time.Hour), at(0)),
				storage.ErrAlreadyExists, "replay of a live assertion after cleanup")
		}
		_, err := s.GetAuthRequest(ctx, fmt.Sprintf("req-%02d", i))
		if (i >= dead) != (err == nil) {
			t.Errorf("auth request %d after cleanup: err %v (live: %v)", i, err, i >= dead)
		}
		revoked, err := s.IsAccessTokenRevoked(ctx, fmt.Sprintf("jti-%02d", i))
		mustOK(t, err, "IsAccessTokenRevoked")
		if revoked != (i >= dead) {
			t.Errorf("deny-list entry %d there: %v, want %v", i, revoked, i >= dead)
		}
	}
}

// testDeleteEndedSessions: only sessions whose end was handled before the
// cut-off go, with their client lists; live and unended ones stay.
func testDeleteEndedSessions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	for _, id := range []string{"ended-early", "ended-late", "revoked-unended", "live"} {
		mustOK(t, s.CreateSession(ctx, newSession(id, sd.user.ID, at(-time.Hour))), "CreateSession")
		mustOK(t, s.AddSessionClient(ctx, id, sd.client.ID), "AddSessionClient")
	}
	mustOK(t, s.RevokeSession(ctx, "ended-early", at(-time.Hour)), "RevokeSession")
	_, err := s.EndSession(ctx, "ended-early", at(-time.Hour))
	mustOK(t, err, "EndSession")
	mustOK(t, s.RevokeSession(ctx, "ended-late", at(0)), "RevokeSession")
	_, err = s.EndSession(ctx, "ended-late", at(time.Minute))
	mustOK(t, err, "EndSession")
	mustOK(t, s.RevokeSession(ctx, "revoked-unended", at(-time.Hour)), "RevokeSession")

	if _, err := s.DeleteEndedSessions(ctx, at(0), -1); err == nil {
		t.Error("limit -1 accepted")
	}
	n, err := s.DeleteEndedSessions(ctx, at(0), 10)
	mustOK(t, err, "DeleteEndedSessions")
	if n != 1 {
		t.Errorf("DeleteEndedSessions = %d, want 1 (ended-early)", n)
	}
	for _, tc := range []struct {
		id    string
		there bool
	}{{"ended-early", false}, {"ended-late", true}, {"revoked-unended", true}, {"live", true}, {sd.session.ID, true}} {
		_, err := s.GetSession(ctx, tc.id)
		if tc.there != (err == nil) || err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("session %s after cleanup: %v, want there %v", tc.id, err, tc.there)
		}
	}
	if got, err := s.ListSessionClients(ctx, "ended-early"); err != nil || len(got) != 0 {
		t.Errorf("clients of the deleted session = %v, %v; want none", got, err)
	}
	if _, err := s.GetSessionByTokenHash(ctx, storage.HashToken("session-ended-early")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleted session by its cookie hash: %v, want ErrNotFound", err)
	}
}

// testDeleteDeadRefreshFamilies: dead families go whole, and only dead
// ones: revoked, past their absolute expiry, or with every member expired.
// Of a family whose head lives, expired rotated members go one by one
// (replaying one is refused as expired, never reuse) and everything else
// stays: an expired member not rotated, and live rotated members, whose
// replay is reuse.
func testDeleteDeadRefreshFamilies(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	now := at(0)
	mk := func(id, family string, change func(*storage.RefreshToken)) {
		rt := newRefreshToken(id, family, sd.client.ID, sd.user.ID, sd.session.ID)
		rt.CreatedAt = at(-2 * time.Hour)
		if change != nil {
			change(rt)
		}
		mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken(%s)", id)
	}
	expired := func(rt *storage.RefreshToken) { rt.ExpiresAt = now.Add(-time.Minute) }
	mk("live-1", "live", nil)
	mk("revoked-1", "revoked", nil)
	mk("revoked-2", "revoked", nil)
	mk("absolute-1", "absolute", func(rt *storage.RefreshToken) { rt.FamilyExpiresAt = now.Add(-time.Second) })
	mk("idle-1", "idle", expired)
	mk("idle-2", "idle", expired)
	mk("head-lives-1", "head-lives", expired)
	mk("head-lives-2", "head-lives", nil)
	mk("head-lives-rotated-expired", "head-lives", func(rt *storage.RefreshToken) {
		expired(rt)
		rt.RotatedAt = now.Add(-time.Hour)
	})
	mk("head-lives-rotated-live", "head-lives", func(rt *storage.RefreshToken) { rt.RotatedAt = now.Add(-time.Hour) })
	mk("revoked-late-1", "revoked-late", nil)
	mustOK(t, s.RevokeRefreshFamily(ctx, "revoked", now.Add(-time.Hour)), "RevokeRefreshFamily")
	mustOK(t, s.RevokeRefreshFamily(ctx, "revoked-late", now.Add(time.Minute)), "RevokeRefreshFamily")

	if _, err := s.DeleteDeadRefreshFamilies(ctx, now, 0); err == nil {
		t.Error("limit 0 accepted")
	}
	total, _ := drain(t, 2, func(l int) (int, error) { return s.DeleteDeadRefreshFamilies(ctx, now, l) })
	if total != 4 {
		t.Errorf("deleted %d families and rotated members, want 4 (revoked, absolute, idle families; one rotated member)", total)
	}
	for _, tc := range []struct {
		id    string
		there bool
	}{
		{"live-1", true}, {"revoked-1", false}, {"revoked-2", false}, {"absolute-1", false},
		{"idle-1", false}, {"idle-2", false}, {"head-lives-1", true}, {"head-lives-2", true},
		{"head-lives-rotated-expired", false}, {"head-lives-rotated-live", true},
		{"revoked-late-1", true},
	} {
		_, err := s.GetRefreshToken(ctx, storage.HashToken("refresh-"+tc.id))
		if tc.there != (err == nil) {
			t.Errorf("token %s after cleanup: %v, want there %v", tc.id, err, tc.there)
		}
	}
	st, err := s.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{FamilyID: "revoked"})
	mustOK(t, err, "GetAccessTokenStatus")
	if !st.FamilyRevoked {
		t.Error("a deleted family reads as live; it must count as revoked")
	}
}

// testDeleteFailedLogoutDeliveries: only deliveries given up before the
// cut-off are deleted; pending ones stay.
func testDeleteFailedLogoutDeliveries(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	box := s.LogoutOutbox()
	var ds []*storage.LogoutDelivery
	for i := range 4 {
		ds = append(ds, newDelivery(fmt.Sprintf("d%d", i), sd.client.ID, sd, at(0)))
	}
	mustOK(t, box.Enqueue(ctx, ds...), "Enqueue")
	if claimed := claimAll(t, s, at(0)); len(claimed) != 4 {
		t.Fatalf("claimed %d deliveries, want 4", len(claimed))
	}
	mustOK(t, box.Fail(ctx, "d0", 1, at(-48*time.Hour), "gone"), "Fail")
	mustOK(t, box.Fail(ctx, "d1", 1, at(0), "gone"), "Fail")
	mustOK(t, box.Complete(ctx, "d2", 1), "Complete")
	n, err := s.DeleteFailedLogoutDeliveries(ctx, at(-24*time.Hour), 10)
	mustOK(t, err, "DeleteFailedLogoutDeliveries")
	if n != 1 {
		t.Errorf("DeleteFailedLogoutDeliveries = %d, want 1 (d0)", n)
	}
	if p, f, err := box.Count(ctx); err != nil || p != 1 || f != 1 {
		t.Errorf("after cleanup: %d pending, %d failed, %v; want 1, 1", p, f, err)
	}
}

// testDeleteAuditEntries: entries older than the cut-off go, oldest first
// and at most limit per call; newer ones stay.
func testDeleteAuditEntries(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i, age := range []time.Duration{-50 * time.Hour, -40 * time.Hour, -30 * time.Hour, -time.Hour, 0} {
		mustOK(t, s.AppendAudit(ctx, &storage.AuditEntry{ID: fmt.Sprintf("a%d", i), Time: at(age),
			Action: storage.ActionSignIn, Actor: "alice"}), "AppendAudit")
	}
	if _, err := s.DeleteAuditEntries(ctx, at(0), 0); err == nil {
		t.Error("limit 0 accepted")
	}
	n, err := s.DeleteAuditEntries(ctx, at(-24*time.Hour), 2)
	mustOK(t, err, "DeleteAuditEntries")
	if n != 2 {
		t.Fatalf("first batch deleted %d, want 2", n)
	}
	left, err := s.ListAudit(ctx, storage.AuditFilter{}, 0, 10)
	mustOK(t, err, "ListAudit")
	var ids []string
	for _, e := range left {
		ids = append(ids, e.ID)
	}
	assertStrings(t, "entries left after the oldest two went", []string{"a4", "a3", "a2"}, ids)
	n, err = s.DeleteAuditEntries(ctx, at(-24*time.Hour), 2)
	mustOK(t, err, "DeleteAuditEntries")
	if n != 1 {
		t.Fatalf("second batch deleted %d, want 1 (a2)", n)
	}
}
