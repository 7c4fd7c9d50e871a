package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// claimAll claims every delivery due at now (lease one minute).
func claimAll(t *testing.T, s storage.Store, now time.Time) []*storage.LogoutDelivery {
	t.Helper()
	ds, err := s.LogoutOutbox().Claim(t.Context(), now, time.Minute, 100)
	mustOK(t, err, "Claim")
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

// testLogoutDeliveryClient: a delivery needs its client (Queue's rules
// are the queue suite's), and deleting the client deletes its deliveries,
// as it does its tokens.
func testLogoutDeliveryClient(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	box := s.LogoutOutbox()
	wantErr(t, box.Enqueue(ctx, newDelivery("d-ok", sd.client2.ID, sd, at(0)),
		newDelivery("d-orphan", "no-such-client", sd, at(0))), storage.ErrNotFound, "Enqueue for an unknown client")
	assertStrings(t, "outbox after a refused Enqueue", nil, queueIDs(claimAll(t, s, at(0))))

	mustOK(t, box.Enqueue(ctx, newDelivery("d-failed", sd.client.ID, sd, at(0)),
		newDelivery("d-pending", sd.client.ID, sd, at(time.Hour)), newDelivery("d-other", sd.client2.ID, sd, at(time.Hour))),
		"Enqueue")
	assertStrings(t, "claimed", []string{"d-failed"}, queueIDs(claimAll(t, s, at(0))))
	mustOK(t, box.Fail(ctx, "d-failed", 1, at(time.Minute), "gave up"), "Fail")
	mustOK(t, s.DeleteClient(ctx, sd.client.ID), "DeleteClient")
	failed, err := box.ListFailed(ctx)
	mustOK(t, err, "ListFailed after DeleteClient")
	assertStrings(t, "failed deliveries after DeleteClient", nil, queueIDs(failed))
	assertStrings(t, "pending deliveries after DeleteClient", []string{"d-other"}, queueIDs(claimAll(t, s, at(time.Hour))))
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
