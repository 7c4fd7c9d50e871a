package session

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

// fixture is a Manager over a memory store with alice and bob.
type fixture struct {
	t     *testing.T
	store *memory.Store
	clock *storagetest.Clock
	m     *Manager
}

func newFixture(t *testing.T, issuer string) *fixture {
	t.Helper()
	f := &fixture{t: t, store: memory.New(), clock: storagetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	m, err := New(Config{Store: f.store, Issuer: issuer, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	now := f.clock.Now()
	for _, u := range []string{"alice", "bob"} {
		f.must(f.store.CreateUser(t.Context(), &storage.User{ID: "u-" + u, Username: u, CreatedAt: now, UpdatedAt: now}))
	}
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// signIn signs userID in on a request carrying cookie (nil: none) and
// returns the session and the new cookie.
func (f *fixture) signIn(cookie *http.Cookie, userID string, amr ...string) (*storage.Session, *http.Cookie) {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	s, err := f.m.SignIn(f.t.Context(), w, r, Authentication{UserID: userID, AMR: amr})
	f.must(err)
	return s, sessionCookie(f.t, w, f.m.CookieName())
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie set", name)
	return nil
}

// current looks the session up as a request with cookie would.
func (f *fixture) current(cookie *http.Cookie) *storage.Session {
	f.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/authorize", nil)
	r.AddCookie(cookie)
	s, err := f.m.Current(r)
	f.must(err)
	return s
}

// TestCookie: the cookie is HttpOnly, SameSite=Lax, Path=/, host-only,
// and Secure with the __Host- name exactly when the issuer is https
// (checklist S1).
func TestCookie(t *testing.T) {
	for _, tc := range []struct {
		name, issuer, want string
		secure             bool
	}{
		{"https", "https://id.example", "__Host-monban_session", true},
		{"http-localhost", "http://localhost:8080", "monban_session", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.issuer)
			_, c := f.signIn(nil, "u-alice", "pwd")
			if c.Name != tc.want || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
				c.Path != "/" || c.Domain != "" || c.MaxAge != int(DefaultMaxAge/time.Second) || !WellFormedToken(c.Value) {
				t.Fatalf("cookie %+v", c)
			}
			w := httptest.NewRecorder()
			f.m.Clear(w)
			if got := sessionCookie(t, w, tc.want); got.MaxAge >= 0 || got.Value != "" || got.Secure != tc.secure {
				t.Fatalf("cleared cookie %+v", got)
			}
		})
	}
}

// TestSignInRenewal: a sign-in by the same user renews the live session
// in place (same ID, new cookie, new auth time and amr: step-up); one by
// another user revokes it and starts a new one (checklist S4).
func TestSignInRenewal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		second   string
		sameID   bool
		oldAlive bool
	}{
		{"same-user-renewed-in-place", "u-alice", true, false},
		{"other-user-gets-new-session", "u-bob", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "https://id.example")
			first, c1 := f.signIn(nil, "u-alice", "pwd")
			f.must(f.store.AddSessionClient(t.Context(), first.ID, "app"))
			f.clock.Advance(10 * time.Minute)
			second, c2 := f.signIn(c1, tc.second, "pwd", "otp")
			if (second.ID == first.ID) != tc.sameID || c2.Value == c1.Value {
				t.Fatalf("second sign-in: session %s (first %s), cookie renewed %v", second.ID, first.ID, c2.Value != c1.Value)
			}
			if f.current(c1) != nil {
				t.Fatal("the old cookie still works")
			}
			got := f.current(c2)
			if got == nil || got.UserID != tc.second || !got.AuthTime.Equal(f.clock.Now()) || !slices.Equal(got.AMR, []string{"pwd", "otp"}) {
				t.Fatalf("current session %+v", got)
			}
			old, err := f.store.GetSession(t.Context(), first.ID)
			f.must(err)
			if tc.sameID {
				clients, err := f.store.ListSessionClients(t.Context(), first.ID)
				f.must(err)
				if !slices.Equal(clients, []string{"app"}) {
					t.Fatalf("renewed session lost its clients: %v", clients)
				}
			} else if old.RevokedAt.IsZero() {
				t.Fatal("the other user's session was not revoked")
			}
		})
	}
}

// TestCurrent: only a live session of an enabled user is current; the
// idle timeout comes from the Manager (checklist S3, S5).
func TestCurrent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cookie func(c *http.Cookie) *http.Cookie
		after  func(f *fixture, s *storage.Session)
		want   bool
	}{
		{name: "live", want: true},
		{name: "forged-value", cookie: func(c *http.Cookie) *http.Cookie { return &http.Cookie{Name: c.Name, Value: storage.NewToken()} }},
		{name: "malformed-value", cookie: func(c *http.Cookie) *http.Cookie { return &http.Cookie{Name: c.Name, Value: "'OR'1'='1"} }},
		{name: "idle", after: func(f *fixture, _ *storage.Session) { f.clock.Advance(DefaultIdleTimeout + time.Second) }},
		{name: "within-idle", after: func(f *fixture, _ *storage.Session) { f.clock.Advance(DefaultIdleTimeout - time.Second) }, want: true},
		{name: "revoked", after: func(f *fixture, s *storage.Session) {
			f.must(f.store.RevokeSession(f.t.Context(), s.ID, f.clock.Now()))
		}},
		{name: "user-disabled", after: func(f *fixture, _ *storage.Session) {
			_, err := f.store.UpdateUser(f.t.Context(), "u-alice", func(u *storage.User) error {
				u.Disabled = true
				return nil
			})
			f.must(err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "http://localhost")
			s, c := f.signIn(nil, "u-alice", "pwd")
			if tc.after != nil {
				tc.after(f, s)
			}
			if tc.cookie != nil {
				c = tc.cookie(c)
			}
			if got := f.current(c); (got != nil) != tc.want {
				t.Fatalf("Current = %+v, want session: %v", got, tc.want)
			}
		})
	}
}

// TestEnd: ending one session writes one logout entry with the reason,
// ending all of a user's one logout.all entry, and the sweep none; each
// leaves the sessions revoked and ended.
func TestEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, m *Manager)
		want *storage.AuditEntry // nil: no entry
	}{
		{"one-session", func(t *testing.T, m *Manager) {
			if err := m.EndSession(t.Context(), "s1", ReasonLogout); err != nil {
				t.Fatal(err)
			}
		}, &storage.AuditEntry{Action: storage.ActionLogout, ActorID: "u-alice", Actor: "alice", Target: "session:s1", Detail: "logout"}},
		{"every-session-of-the-user", func(t *testing.T, m *Manager) {
			if n, err := m.EndUserSessions(t.Context(), "u-alice", ReasonForcedLogout); err != nil || n != 2 {
				t.Fatalf("ended %d, %v; want 2", n, err)
			}
		}, &storage.AuditEntry{Action: storage.ActionLogoutAll, ActorID: "u-alice", Actor: "alice", Target: "user:u-alice",
			Detail: "forced_logout; 2 sessions"}},
		{"expiry-sweep", func(t *testing.T, m *Manager) {
			if n, err := m.Sweep(t.Context(), 10); err != nil || n != 2 {
				t.Fatalf("swept %d, %v; want 2", n, err)
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			notified := 0
			f.m.notify = func() { notified++ }
			now := f.clock.Now()
			for _, id := range []string{"s1", "s2"} {
				f.must(f.store.CreateSession(t.Context(), &storage.Session{ID: id, TokenHash: storage.HashToken(id), UserID: "u-alice",
					AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
			}
			if tc.want == nil {
				f.clock.Advance(2 * time.Hour)
			}
			tc.end(t, f.m)
			got, err := f.store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10)
			f.must(err)
			switch {
			case tc.want == nil && len(got) != 0:
				t.Fatalf("audit entries = %+v, want none", got)
			case tc.want != nil && (len(got) != 1 || got[0].Action != tc.want.Action || got[0].ActorID != tc.want.ActorID ||
				got[0].Actor != tc.want.Actor || got[0].Target != tc.want.Target || got[0].Detail != tc.want.Detail):
				t.Fatalf("audit entries = %+v, want one %+v", got, tc.want)
			}
			s1, err := f.store.GetSession(t.Context(), "s1")
			f.must(err)
			if s1.RevokedAt.IsZero() || s1.EndedAt.IsZero() {
				t.Fatalf("s1 revoked %v ended %v", s1.RevokedAt, s1.EndedAt)
			}
			if notified != 0 { // no client served: nothing to deliver
				t.Fatalf("notified %d times with nothing enqueued", notified)
			}
		})
	}
}

// TestNewRefuses: bad configuration is refused with a clear error.
func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no-store", Config{}, "Store is required"},
		{"negative-idle", Config{Store: memory.New(), IdleTimeout: -1}, "negative"},
		{"relative-issuer", Config{Store: memory.New(), Issuer: "/id"}, "absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestSignInOfAnotherUserEndsThePrevious: when bob signs in on a browser
// that holds alice's session, alice's session ends like a logout: its
// apps get a back-channel logout token and it is audited (before, it was
// only revoked, and the apps it served never heard of it).
func TestSignInOfAnotherUserEndsThePrevious(t *testing.T) {
	f := newFixture(t, "")
	now := f.clock.Now()
	f.must(f.store.CreateClient(t.Context(), &storage.Client{ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic,
		ApplicationType: storage.ApplicationWeb, RedirectURIs: []string{"https://app.example/cb"},
		BackchannelLogoutURI: "https://app.example/bcl", GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}))
	alice, cookie := f.signIn(nil, "u-alice", "pwd")
	f.must(f.store.AddSessionClient(t.Context(), alice.ID, "app"))
	bob, _ := f.signIn(cookie, "u-bob", "pwd")
	if bob.ID == alice.ID {
		t.Fatal("bob got alice's session")
	}
	old, err := f.store.GetSession(t.Context(), alice.ID)
	f.must(err)
	if old.RevokedAt.IsZero() || old.EndedAt.IsZero() {
		t.Fatalf("alice's session revoked %v ended %v, want both", old.RevokedAt, old.EndedAt)
	}
	ds, err := f.store.LogoutOutbox().Claim(t.Context(), f.clock.Now().Add(time.Minute), time.Minute, 10)
	f.must(err)
	if len(ds) != 1 || ds[0].ClientID != "app" || ds[0].SessionID != alice.ID {
		t.Fatalf("logout deliveries %+v, want one to app for alice's session", ds)
	}
	entries, err := f.store.ListAudit(t.Context(), storage.AuditFilter{Actions: []string{storage.ActionLogout}}, 0, 10)
	f.must(err)
	if len(entries) != 1 || entries[0].Detail != ReasonReplaced {
		t.Fatalf("audit %+v, want one logout entry with reason %q", entries, ReasonReplaced)
	}
}
