package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func testSessionLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-1", "alice")), "CreateUser")

	in := newSession("sess-1", "user-1", at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, in), "CreateSession")
	want := *deepCopy(in)
	scribble(in) // the store must not keep the caller's value

	got, err := s.GetSession(ctx, "sess-1")
	mustOK(t, err, "GetSession")
	assertEqual(t, "GetSession", &want, got)
	scribble(got)
	got, err = s.GetSessionByTokenHash(ctx, want.TokenHash)
	mustOK(t, err, "GetSessionByTokenHash")
	assertEqual(t, "GetSessionByTokenHash after mutating an earlier result", &want, got)

	t.Run("Duplicates", func(t *testing.T) {
		sameID := newSession("sess-1", "user-1", at(time.Hour))
		sameID.TokenHash = storage.HashToken("another token")
		sameHash := newSession("sess-other", "user-1", at(0))
		sameHash.TokenHash = want.TokenHash
		tests := []struct {
			name    string
			session *storage.Session
		}{
			{"same ID", sameID},
			{"same token hash", sameHash},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, s.CreateSession(ctx, tc.session), storage.ErrAlreadyExists, "CreateSession")
			})
		}
		_, err := s.GetSession(ctx, "sess-other")
		wantErr(t, err, storage.ErrNotFound, "GetSession of a rejected duplicate")
		got, err := s.GetSessionByTokenHash(ctx, want.TokenHash)
		mustOK(t, err, "GetSessionByTokenHash")
		assertEqual(t, "session after failed duplicate inserts", &want, got)
	})

	t.Run("Missing", func(t *testing.T) {
		_, err := s.GetSession(ctx, "no-such-session")
		wantErr(t, err, storage.ErrNotFound, "GetSession")
		_, err = s.GetSessionByTokenHash(ctx, storage.HashToken("unknown"))
		wantErr(t, err, storage.ErrNotFound, "GetSessionByTokenHash")
		_, err = s.GetSessionByTokenHash(ctx, "")
		wantErr(t, err, storage.ErrNotFound, "GetSessionByTokenHash(\"\")")
		wantErr(t, s.TouchSession(ctx, "no-such-session", at(0)), storage.ErrNotFound, "TouchSession")
		wantErr(t, s.RevokeSession(ctx, "no-such-session", at(0)), storage.ErrNotFound, "RevokeSession")
	})

	t.Run("Touch", func(t *testing.T) {
		mustOK(t, s.TouchSession(ctx, "sess-1", at(time.Minute)), "TouchSession")
		want.LastSeenAt = at(time.Minute)
		got, err := s.GetSession(ctx, "sess-1")
		mustOK(t, err, "GetSession after touch")
		assertEqual(t, "touched session (only LastSeenAt changes)", &want, got)
	})

	t.Run("Revoke", func(t *testing.T) {
		mustOK(t, s.RevokeSession(ctx, "sess-1", at(2*time.Minute)), "RevokeSession")
		want.RevokedAt = at(2 * time.Minute)
		mustOK(t, s.RevokeSession(ctx, "sess-1", at(3*time.Minute)), "RevokeSession again")
		got, err := s.GetSession(ctx, "sess-1")
		mustOK(t, err, "GetSession of a revoked session")
		assertEqual(t, "revoked session (first revocation time kept)", &want, got)
		got, err = s.GetSessionByTokenHash(ctx, want.TokenHash)
		mustOK(t, err, "GetSessionByTokenHash of a revoked session")
		assertEqual(t, "revoked session by token hash", &want, got)
		if got.Active(at(2*time.Minute), 0) {
			t.Errorf("revoked session is active")
		}
	})
}

func testSessionList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-1", "alice")), "CreateUser")
	mustOK(t, s.CreateUser(ctx, newUser("user-2", "bob")), "CreateUser")
	mustOK(t, s.CreateUser(ctx, newUser("user-3", "carol")), "CreateUser")

	list := func(t *testing.T, userID string) []string {
		t.Helper()
		sessions, err := s.ListUserSessions(ctx, userID)
		mustOK(t, err, "ListUserSessions(%s)", userID)
		var ids []string
		for _, ss := range sessions {
			if ss.UserID != userID {
				t.Errorf("ListUserSessions(%s) returned session %s of user %s", userID, ss.ID, ss.UserID)
			}
			ids = append(ids, ss.ID)
		}
		return ids
	}

	assertStrings(t, "sessions on an empty store", nil, list(t, "user-1"))

	expired := newSession("s-expired", "user-1", at(-48*time.Hour)) // expired, not revoked
	sessions := []*storage.Session{
		newSession("s-middle", "user-1", at(-2*time.Hour)),
		newSession("s-newest", "user-1", at(-time.Hour)),
		expired,
		newSession("s-revoked", "user-1", at(-90*time.Minute)),
		newSession("s-oldest", "user-1", at(-3*time.Hour)),
		newSession("s-bob", "user-2", at(-time.Hour)),
		newSession("s-bob-revoked", "user-2", at(-2*time.Hour)),
	}
	for _, ss := range sessions {
		mustOK(t, s.CreateSession(ctx, ss), "CreateSession(%s)", ss.ID)
	}
	mustOK(t, s.RevokeSession(ctx, "s-revoked", at(-time.Minute)), "RevokeSession")
	mustOK(t, s.RevokeSession(ctx, "s-bob-revoked", at(-time.Minute)), "RevokeSession")

	// Not revoked, newest first; the store has no clock, so an expired but
	// unrevoked session is listed.
	assertStrings(t, "ListUserSessions(user-1)", []string{"s-newest", "s-middle", "s-oldest", "s-expired"}, list(t, "user-1"))
	assertStrings(t, "ListUserSessions(user-3)", nil, list(t, "user-3"))

	got, err := s.ListUserSessions(ctx, "user-1")
	mustOK(t, err, "ListUserSessions")
	assertEqual(t, "expired session in ListUserSessions", expired, got[3])
	scribble(got)
	one, err := s.GetSession(ctx, "s-expired")
	mustOK(t, err, "GetSession")
	assertEqual(t, "session after mutating a ListUserSessions result", expired, one)

	t.Run("RevokeUserSessions", func(t *testing.T) {
		revokedAt := at(10 * time.Minute)
		ids, err := s.RevokeUserSessions(ctx, "user-1", revokedAt)
		mustOK(t, err, "RevokeUserSessions")
		assertStrings(t, "RevokeUserSessions IDs (sorted)", []string{"s-expired", "s-middle", "s-newest", "s-oldest"}, sorted(ids))
		assertStrings(t, "ListUserSessions after RevokeUserSessions", nil, list(t, "user-1"))

		tests := []struct {
			id          string
			wantRevoked time.Time
		}{
			{"s-newest", revokedAt},
			{"s-expired", revokedAt},
			{"s-revoked", at(-time.Minute)}, // first revocation kept
			{"s-bob", time.Time{}},          // another user's session untouched
			{"s-bob-revoked", at(-time.Minute)},
		}
		for _, tc := range tests {
			ss, err := s.GetSession(ctx, tc.id)
			mustOK(t, err, "GetSession(%s)", tc.id)
			if !ss.RevokedAt.Equal(tc.wantRevoked) {
				t.Errorf("session %s RevokedAt = %v, want %v", tc.id, ss.RevokedAt, tc.wantRevoked)
			}
		}
		assertStrings(t, "ListUserSessions(user-2)", []string{"s-bob"}, list(t, "user-2"))

		ids, err = s.RevokeUserSessions(ctx, "user-1", at(time.Hour))
		mustOK(t, err, "RevokeUserSessions again")
		assertStrings(t, "second RevokeUserSessions IDs", nil, ids)
		ids, err = s.RevokeUserSessions(ctx, "no-such-user", at(time.Hour))
		mustOK(t, err, "RevokeUserSessions(no-such-user)")
		assertStrings(t, "RevokeUserSessions(no-such-user) IDs", nil, ids)
	})
}

func testSessionClients(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateClient(ctx, newClient("client-0")), "CreateClient")
	mustOK(t, s.CreateSession(ctx, newSession("session-2", sd.user.ID, at(0))), "CreateSession")

	ids, err := s.ListSessionClients(ctx, sd.session.ID)
	mustOK(t, err, "ListSessionClients before any sign-in")
	assertStrings(t, "clients of a new session", nil, ids)

	for _, c := range []string{"client-2", "client-0", "client-2", "client-1", "client-0"} {
		mustOK(t, s.AddSessionClient(ctx, sd.session.ID, c), "AddSessionClient(%s)", c)
	}
	mustOK(t, s.AddSessionClient(ctx, "session-2", "client-1"), "AddSessionClient(session-2)")

	ids, err = s.ListSessionClients(ctx, sd.session.ID)
	mustOK(t, err, "ListSessionClients")
	assertStrings(t, "clients of session-1 (ordered, no duplicates)", []string{"client-0", "client-1", "client-2"}, ids)
	ids[0] = "changed by caller"
	ids, err = s.ListSessionClients(ctx, "session-2")
	mustOK(t, err, "ListSessionClients(session-2)")
	assertStrings(t, "clients of session-2", []string{"client-1"}, ids)

	wantErr(t, s.AddSessionClient(ctx, "no-such-session", "client-1"), storage.ErrNotFound, "AddSessionClient(no-such-session)")
	ids, err = s.ListSessionClients(ctx, "no-such-session")
	mustOK(t, err, "ListSessionClients(no-such-session)")
	assertStrings(t, "clients of an unknown session", nil, ids)

	// A revoked session keeps its clients (logout needs them) and may still
	// record one: only an absent session is an error.
	mustOK(t, s.RevokeSession(ctx, sd.session.ID, at(time.Hour)), "RevokeSession")
	mustOK(t, s.AddSessionClient(ctx, sd.session.ID, "client-1"), "AddSessionClient on a revoked session")
	ids, err = s.ListSessionClients(ctx, sd.session.ID)
	mustOK(t, err, "ListSessionClients of a revoked session")
	assertStrings(t, "clients of the revoked session", []string{"client-0", "client-1", "client-2"}, ids)
}
