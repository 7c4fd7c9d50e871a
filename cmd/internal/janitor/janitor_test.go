package janitor

import (
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestJanitorSchedule: Step runs the first time, then at most once per
// Interval by the injected clock.
func TestJanitorSchedule(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j, err := New(Config{Store: memory.New(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		wantRan bool
	}{
		{"first", 0, true},
		{"same-instant", 0, false},
		{"before-interval", DefaultInterval - time.Second, false},
		{"at-interval", time.Second, true},
		{"right-after", time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			res, err := j.Step(t.Context())
			if err != nil || res.Ran != tc.wantRan {
				t.Fatalf("Step = %+v, %v; want Ran %v", res, err, tc.wantRan)
			}
		})
	}
}

// TestJanitorDeletesInBatches: one Step works off a backlog larger than a
// batch for every kind, honours each kind's retention, and leaves live
// rows alone.
func TestJanitorDeletesInBatches(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := memory.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.CreateUser(ctx, &storage.User{ID: "u", Username: "alice", CreatedAt: now, UpdatedAt: now}))
	must(store.CreateClient(ctx, &storage.Client{ID: "c", Name: "C", CreatedAt: now, UpdatedAt: now}))
	for i := range 5 {
		id := fmt.Sprint(i)
		must(store.CreateAuthRequest(ctx, &storage.AuthRequest{ID: "expired-" + id, ClientID: "c",
			CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}))
		must(store.RevokeAccessToken(ctx, "jti-"+id, now.Add(-time.Second)))
		// Sessions ended two days ago (deleted) and one hour ago (kept).
		for _, ended := range []time.Duration{48 * time.Hour, time.Hour} {
			sid := fmt.Sprintf("s-%s-%v", id, ended)
			must(store.CreateSession(ctx, &storage.Session{ID: sid, TokenHash: storage.HashToken(sid), UserID: "u",
				AuthTime: now.Add(-72 * time.Hour), CreatedAt: now.Add(-72 * time.Hour), LastSeenAt: now.Add(-ended),
				ExpiresAt: now.Add(time.Hour)}))
			must(store.RevokeSession(ctx, sid, now.Add(-ended)))
			_, err := store.EndSession(ctx, sid, now.Add(-ended))
			must(err)
		}
		// Families revoked two hours ago (deleted) and a minute ago (kept
		// past the margin).
		for _, revoked := range []time.Duration{2 * time.Hour, time.Minute} {
			fid := fmt.Sprintf("f-%s-%v", id, revoked)
			must(store.CreateRefreshToken(ctx, &storage.RefreshToken{ID: fid, TokenHash: storage.HashToken(fid),
				FamilyID: fid, ClientID: "c", UserID: "u", SessionID: "x", AuthTime: now.Add(-3 * time.Hour),
				CreatedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}))
			must(store.RevokeRefreshFamily(ctx, fid, now.Add(-revoked)))
		}
	}
	must(store.CreateAuthRequest(ctx, &storage.AuthRequest{ID: "live", ClientID: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	// Audit entries: three past a 30-day retention, one within it.
	for i, age := range []time.Duration{90, 60, 31, 29} {
		must(store.AppendAudit(ctx, &storage.AuditEntry{ID: fmt.Sprint("audit-", i), Time: now.Add(-age * 24 * time.Hour),
			Action: storage.ActionSignIn}))
	}

	// Initial access tokens: three expired or used up, one usable.
	for _, tok := range []struct {
		id   string
		uses int
		exp  time.Duration
	}{{"expired", 5, -time.Second}, {"used-up", 0, time.Hour}, {"both", 0, -time.Hour}, {"usable", 1, time.Hour}} {
		must(store.CreateInitialAccessToken(ctx, &storage.InitialAccessToken{ID: tok.id, TokenHash: storage.HashToken(tok.id),
			UsesLeft: tok.uses, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(tok.exp)}))
	}

	j, err := New(Config{Store: store, Now: func() time.Time { return now }, Batch: 2,
		AuditRetention: 30 * 24 * time.Hour})
	must(err)
	got, err := j.Step(ctx)
	must(err)
	want := Result{Ran: true, AuthRequests: 5, AccessTokenRevocations: 5, EndedSessions: 5, RefreshFamilies: 5,
		AuditEntries: 3, InitialAccessTokens: 3}
	if got != want {
		t.Fatalf("Step = %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		name  string
		there func() error
	}{
		{"live-auth-request", func() error { _, err := store.GetAuthRequest(ctx, "live"); return err }},
		{"recently-ended-session", func() error { _, err := store.GetSession(ctx, "s-0-1h0m0s"); return err }},
		{"audit-entry-within-retention", func() error {
			got, err := store.ListAudit(ctx, storage.AuditFilter{}, 0, 10)
			if err == nil && (len(got) != 1 || got[0].ID != "audit-3") {
				err = fmt.Errorf("audit entries left: %d", len(got))
			}
			return err
		}},
		{"usable-initial-access-token", func() error {
			_, err := store.GetInitialAccessToken(ctx, storage.HashToken("usable"), now)
			return err
		}},
		{"recently-revoked-family", func() error {
			_, err := store.GetRefreshToken(ctx, storage.HashToken("f-0-1m0s"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.there(); err != nil {
				t.Errorf("deleted too early: %v", err)
			}
		})
	}
	if _, err := New(Config{Store: store, Batch: -1}); err == nil {
		t.Error("negative batch accepted")
	}
	if _, err := New(Config{Store: store, AuditRetention: -time.Hour}); err == nil {
		t.Error("negative audit retention accepted")
	}
	// A zero retention keeps the audit trail forever: zero means that in
	// the configuration file, in app.Config and here.
	forever, err := New(Config{Store: store, Now: func() time.Time { return now.Add(10 * 365 * 24 * time.Hour) }})
	must(err)
	if res, err := forever.Step(ctx); err != nil || res.AuditEntries != 0 {
		t.Errorf("Step with audit retention off = %+v, %v; want no audit entry deleted", res, err)
	}
}
