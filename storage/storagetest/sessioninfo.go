package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testSessionClientInfo: the sign-in address and User-Agent come back from
// every read that returns sessions, survive a renewal unchanged, and
// default to empty for a session created without them.
func testSessionClientInfo(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-1", "alice")), "CreateUser")
	with := newSession("sess-with", "user-1", at(0))
	with.Address = "2001:db8::1"
	with.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) ブラウザ/1.0"
	without := newSession("sess-without", "user-1", at(-time.Minute))
	without.Address, without.UserAgent = "", ""
	mustOK(t, s.CreateSession(ctx, with), "CreateSession(with)")
	mustOK(t, s.CreateSession(ctx, without), "CreateSession(without)")

	type info struct{ Address, UserAgent string }
	wantOf := map[string]info{
		with.ID:    {with.Address, with.UserAgent},
		without.ID: {},
	}
	check := func(t *testing.T, what string, ss *storage.Session) {
		t.Helper()
		if ss == nil {
			t.Fatalf("%s: no session", what)
		}
		if got, want := (info{ss.Address, ss.UserAgent}), wantOf[ss.ID]; got != want {
			t.Errorf("%s %s: %+v, want %+v", what, ss.ID, got, want)
		}
	}

	tests := []struct {
		name string
		read func(t *testing.T) []*storage.Session
	}{
		{"GetSession", func(t *testing.T) []*storage.Session {
			a, err := s.GetSession(ctx, with.ID)
			mustOK(t, err, "GetSession")
			b, err := s.GetSession(ctx, without.ID)
			mustOK(t, err, "GetSession")
			return []*storage.Session{a, b}
		}},
		{"GetSessionByTokenHash", func(t *testing.T) []*storage.Session {
			a, err := s.GetSessionByTokenHash(ctx, with.TokenHash)
			mustOK(t, err, "GetSessionByTokenHash")
			return []*storage.Session{a}
		}},
		{"GetSessionWithUserActive", func(t *testing.T) []*storage.Session {
			a, _, err := s.GetSessionWithUserActive(ctx, with.TokenHash)
			mustOK(t, err, "GetSessionWithUserActive")
			return []*storage.Session{a}
		}},
		{"ListUserSessions", func(t *testing.T) []*storage.Session {
			list, err := s.ListUserSessions(ctx, "user-1")
			mustOK(t, err, "ListUserSessions")
			return list
		}},
		{"ListSessionsPage", func(t *testing.T) []*storage.Session {
			page, err := s.ListSessionsPage(ctx, storage.SessionQuery{UserID: "user-1", Limit: 10})
			mustOK(t, err, "ListSessionsPage")
			var out []*storage.Session
			for _, l := range page {
				out = append(out, &l.Session)
			}
			return out
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, ss := range tc.read(t) {
				check(t, tc.name, ss)
			}
		})
	}

	t.Run("RenewKeepsThem", func(t *testing.T) {
		mustOK(t, s.RenewSession(ctx, with.ID, storage.HashToken("renewed"), at(time.Minute), []string{"pwd"}),
			"RenewSession")
		got, err := s.GetSession(ctx, with.ID)
		mustOK(t, err, "GetSession")
		check(t, "after RenewSession", got)
	})
}
