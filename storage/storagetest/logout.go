package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// claimAll claims every delivery due at now (lease one minute).
func claimAll(t *testing.T, s storage.Store, now time.Time) []*storage.LogoutDelivery {
	t.Helper()
	ds, err := s.ClaimLogoutDeliveries(t.Context(), now, time.Minute, 100)
	mustOK(t, err, "ClaimLogoutDeliveries")
	return ds
}

// testEndSession: ending a session enqueues one delivery per enabled
// client with a back-channel URI that the session served, exactly once.
func testEndSession(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s) // both clients have a back-channel URI
	noURI := newClient("client-0")
	noURI.BackchannelLogoutURI = ""
	disabled := newClient("client-3")
	disabled.Disabled = true
	mustOK(t, s.CreateClient(ctx, noURI), "CreateClient")
	mustOK(t, s.CreateClient(ctx, disabled), "CreateClient")
	for _, c := range []string{"client-0", "client-1", "client-2", "client-3", "no-such-client"} {
		mustOK(t, s.AddSessionClient(ctx, sd.session.ID, c), "AddSessionClient(%s)", c)
	}

	_, err := s.EndSession(ctx, "no-such-session", at(0))
	wantErr(t, err, storage.ErrNotFound, "EndSession(no-such-session)")

	n, err := s.EndSession(ctx, sd.session.ID, at(0))
	mustOK(t, err, "EndSession")
	if n != 2 {
		t.Errorf("EndSession enqueued %d deliveries, want 2 (client-1, client-2)", n)
	}
	got, err := s.GetSession(ctx, sd.session.ID)
	mustOK(t, err, "GetSession")
	want := *deepCopy(sd.session)
	want.EndedAt = at(0)
	assertEqual(t, "ended session (only EndedAt changes)", &want, got)

	n, err = s.EndSession(ctx, sd.session.ID, at(time.Minute))
	mustOK(t, err, "EndSession again")
	if n != 0 {
		t.Errorf("second EndSession enqueued %d deliveries, want 0", n)
	}
	if got, _ := s.GetSession(ctx, sd.session.ID); !got.EndedAt.Equal(at(0)) {
		t.Errorf("EndedAt = %v after a second EndSession, want the first %v", got.EndedAt, at(0))
	}

	ds := claimAll(t, s, at(0))
	var clients []string
	for _, d := range ds {
		clients = append(clients, d.ClientID)
		if d.Subject != sd.user.ID || d.SessionID != sd.session.ID || !d.CreatedAt.Equal(at(0)) ||
			!d.NextAttemptAt.Equal(at(0)) || d.Attempts != 1 || d.ID == "" {
			t.Errorf("delivery %+v: want subject %s, session %s, created and due at %v, attempt 1",
				d, sd.user.ID, sd.session.ID, at(0))
		}
	}
	slices.Sort(clients)
	assertStrings(t, "clients with deliveries", []string{"client-1", "client-2"}, clients)
}

func testListSessionsToEnd(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-1", "alice")), "CreateUser")
	now := at(0)
	const idle = time.Hour
	mk := func(id string, created time.Time, change func(*storage.Session)) {
		ss := newSession(id, "user-1", created)
		ss.LastSeenAt, ss.ExpiresAt = now.Add(-time.Minute), now.Add(time.Hour)
		if change != nil {
			change(ss)
		}
		mustOK(t, s.CreateSession(ctx, ss), "CreateSession(%s)", id)
	}
	mk("live", at(-5*time.Hour), nil)
	mk("revoked", at(-4*time.Hour), nil)
	mustOK(t, s.RevokeSession(ctx, "revoked", at(-time.Hour)), "RevokeSession")
	mk("expired-at-now", at(-3*time.Hour), func(ss *storage.Session) { ss.ExpiresAt = now })
	mk("expires-just-after", at(-3*time.Hour+time.Second), func(ss *storage.Session) { ss.ExpiresAt = now.Add(time.Microsecond) })
	mk("idle-at-now", at(-2*time.Hour), func(ss *storage.Session) { ss.LastSeenAt = now.Add(-idle) })
	mk("idle-just-not", at(-2*time.Hour+time.Second), func(ss *storage.Session) { ss.LastSeenAt = now.Add(-idle + time.Microsecond) })
	mk("already-ended", at(-time.Hour), nil)
	mustOK(t, s.RevokeSession(ctx, "already-ended", at(-time.Hour)), "RevokeSession")
	_, err := s.EndSession(ctx, "already-ended", at(-time.Hour))
	mustOK(t, err, "EndSession")

	list := func(idle time.Duration, limit int) []string {
		t.Helper()
		ss, err := s.ListSessionsToEnd(ctx, now, idle, limit)
		mustOK(t, err, "ListSessionsToEnd")
		var ids []string
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		return ids
	}
	tests := []struct {
		name  string
		idle  time.Duration
		limit int
		want  []string
	}{
		{"S5/revoked-expired-idle-oldest-first", idle, 10, []string{"revoked", "expired-at-now", "idle-at-now"}},
		{"S5/no-idle-timeout", 0, 10, []string{"revoked", "expired-at-now"}},
		{"limit", idle, 2, []string{"revoked", "expired-at-now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertStrings(t, "sessions to end", tc.want, list(tc.idle, tc.limit))
		})
	}
}

func testLogoutDeliveryLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	d1 := &storage.LogoutDelivery{ID: "d-1", ClientID: sd.client.ID, Subject: sd.user.ID, SessionID: sd.session.ID,
		CreatedAt: at(0), NextAttemptAt: at(0)}
	later := &storage.LogoutDelivery{ID: "d-later", ClientID: sd.client2.ID, Subject: sd.user.ID,
		CreatedAt: at(0), NextAttemptAt: at(time.Hour)}
	mustOK(t, s.EnqueueLogoutDeliveries(ctx, []*storage.LogoutDelivery{d1, later}), "EnqueueLogoutDeliveries")
	wantErr(t, s.EnqueueLogoutDeliveries(ctx, []*storage.LogoutDelivery{
		{ID: "d-new", ClientID: sd.client.ID, CreatedAt: at(0), NextAttemptAt: at(0)}, d1,
	}), storage.ErrAlreadyExists, "EnqueueLogoutDeliveries with a taken ID")
	wantErr(t, s.EnqueueLogoutDeliveries(ctx, []*storage.LogoutDelivery{
		{ID: "d-orphan", ClientID: "no-such-client", CreatedAt: at(0), NextAttemptAt: at(0)},
	}), storage.ErrNotFound, "EnqueueLogoutDeliveries for an unknown client")

	ids := func(ds []*storage.LogoutDelivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	// Attempt 1: claimed; nobody else gets it while the lease runs.
	ds := claimAll(t, s, at(0))
	assertStrings(t, "first claim (d-new was not inserted)", []string{"d-1"}, ids(ds))
	want := *d1
	want.Attempts, want.ClaimedUntil = 1, at(time.Minute)
	assertEqual(t, "claimed delivery", &want, ds[0])
	assertStrings(t, "claim during the lease", nil, ids(claimAll(t, s, at(30*time.Second))))

	// The lease ran out: attempt 2 is claimed; the first worker's late
	// report is refused.
	assertStrings(t, "claim after the lease", []string{"d-1"}, ids(claimAll(t, s, at(time.Minute))))
	wantErr(t, s.CompleteLogoutDelivery(ctx, "d-1", 1), storage.ErrNotFound, "CompleteLogoutDelivery of a stale attempt")
	mustOK(t, s.RetryLogoutDelivery(ctx, "d-1", 2, at(5*time.Minute), "HTTP 503"), "RetryLogoutDelivery")
	assertStrings(t, "claim before the retry is due", nil, ids(claimAll(t, s, at(4*time.Minute))))

	ds = claimAll(t, s, at(5*time.Minute))
	assertStrings(t, "claim when the retry is due", []string{"d-1"}, ids(ds))
	if ds[0].Attempts != 3 || ds[0].LastError != "HTTP 503" {
		t.Errorf("retried delivery: attempts %d, last error %q; want 3 and HTTP 503", ds[0].Attempts, ds[0].LastError)
	}
	mustOK(t, s.FailLogoutDelivery(ctx, "d-1", 3, at(6*time.Minute), "gave up"), "FailLogoutDelivery")
	wantErr(t, s.CompleteLogoutDelivery(ctx, "d-1", 3), storage.ErrNotFound, "CompleteLogoutDelivery of a failed delivery")
	failed, err := s.ListFailedLogoutDeliveries(ctx)
	mustOK(t, err, "ListFailedLogoutDeliveries")
	if len(failed) != 1 || failed[0].ID != "d-1" || !failed[0].FailedAt.Equal(at(6*time.Minute)) || failed[0].LastError != "gave up" {
		t.Fatalf("failed deliveries = %+v, want d-1 failed at %v", failed, at(6*time.Minute))
	}
	assertStrings(t, "a failed delivery is never claimed", []string{"d-later"}, ids(claimAll(t, s, at(2*time.Hour))))

	mustOK(t, s.CompleteLogoutDelivery(ctx, "d-later", 1), "CompleteLogoutDelivery")
	wantErr(t, s.CompleteLogoutDelivery(ctx, "d-later", 1), storage.ErrNotFound, "CompleteLogoutDelivery twice")
	wantErr(t, s.RetryLogoutDelivery(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "RetryLogoutDelivery(no-such)")
	wantErr(t, s.FailLogoutDelivery(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "FailLogoutDelivery(no-such)")
	assertStrings(t, "outbox after completion", nil, ids(claimAll(t, s, at(3*time.Hour))))

	// Deleting a client deletes its deliveries, as it does its tokens.
	mustOK(t, s.DeleteClient(ctx, sd.client.ID), "DeleteClient")
	failed, err = s.ListFailedLogoutDeliveries(ctx)
	mustOK(t, err, "ListFailedLogoutDeliveries after DeleteClient")
	if len(failed) != 0 {
		t.Errorf("deliveries of a deleted client remain: %+v", failed)
	}
}

// testConcurrentLogoutClaim (checklist R6): workers claiming at the same
// moment never get the same delivery, and together get all of them.
func testConcurrentLogoutClaim(t *testing.T, s storage.Store) {
	const deliveries, workers, batch = 30, 10, 5
	ctx := t.Context()
	sd := seedRows(t, s)
	var ds []*storage.LogoutDelivery
	for i := range deliveries {
		ds = append(ds, &storage.LogoutDelivery{ID: fmt.Sprintf("d-%02d", i), ClientID: sd.client.ID,
			Subject: sd.user.ID, CreatedAt: at(0), NextAttemptAt: at(time.Duration(i) * time.Millisecond)})
	}
	mustOK(t, s.EnqueueLogoutDeliveries(ctx, ds), "EnqueueLogoutDeliveries")
	claimed := make([][]*storage.LogoutDelivery, workers)
	errs := race(workers, func(i int) error {
		var err error
		claimed[i], err = s.ClaimLogoutDeliveries(ctx, at(time.Second), time.Minute, batch)
		return err
	})
	tally(t, "ClaimLogoutDeliveries", errs)
	seen := map[string]int{}
	for _, c := range claimed {
		if len(c) > batch {
			t.Errorf("a worker claimed %d deliveries, more than its limit %d", len(c), batch)
		}
		for _, d := range c {
			seen[d.ID]++
			if d.Attempts != 1 {
				t.Errorf("delivery %s claimed as attempt %d, want 1", d.ID, d.Attempts)
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("delivery %s claimed by %d workers", id, n)
		}
	}
	if len(seen) != deliveries {
		t.Errorf("%d deliveries claimed, want all %d", len(seen), deliveries)
	}
}

// testConcurrentEndSession: replicas sweeping the same session at once
// enqueue its deliveries exactly once.
func testConcurrentEndSession(t *testing.T, s storage.Store) {
	const n = 10
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.AddSessionClient(ctx, sd.session.ID, sd.client.ID), "AddSessionClient")
	mustOK(t, s.AddSessionClient(ctx, sd.session.ID, sd.client2.ID), "AddSessionClient")
	counts := make([]int, n)
	errs := race(n, func(i int) error {
		var err error
		counts[i], err = s.EndSession(ctx, sd.session.ID, at(0))
		return err
	})
	tally(t, "EndSession", errs)
	total, winners := 0, 0
	for _, c := range counts {
		total += c
		if c > 0 {
			winners++
		}
	}
	if winners != 1 || total != 2 {
		t.Errorf("%d concurrent EndSession: %d enqueued (by %d callers), want 2 by exactly 1", n, total, winners)
	}
	if got := len(claimAll(t, s, at(0))); got != 2 {
		t.Errorf("outbox holds %d deliveries, want 2", got)
	}
}
