package op

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// stubBrowser is a Browser for tests that never reach a page.
type stubBrowser struct{}

func (stubBrowser) CurrentSession(*http.Request) (*storage.Session, error) { return nil, nil }
func (stubBrowser) ClearSession(http.ResponseWriter)                       {}
func (stubBrowser) LoginURL(string) string                                 { return "/login" }
func (stubBrowser) ConsentURL(string) string                               { return "/consent" }

func (stubBrowser) RenderError(http.ResponseWriter, *http.Request, int, string, string) {}

func (stubBrowser) ConfirmLogout(http.ResponseWriter, *http.Request, *storage.Client, string, string) {
}

// memoryProvider is a Provider on a memory store with RS256 and ES256
// keys and no pages, and the time of its clock.
func memoryProvider(t *testing.T) (*Provider, *memory.Store, time.Time) {
	t.Helper()
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, clock.Now, jose.RS256, jose.ES256)
	p, err := New(Config{Issuer: checklistIssuer, Store: store, Keys: k, Browser: stubBrowser{}, Now: clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p, store, clock.Now()
}

// TestAuditRefreshReuse: presenting a rotated refresh token again writes
// exactly one token.reuse entry naming the user and the client; neither
// the rotation before nor the refused replays after it write any.
func TestAuditRefreshReuse(t *testing.T) {
	ctx := t.Context()
	p, store, now := memoryProvider(t)
	c := &storage.Client{ID: "app", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		SecretHash: storage.HashToken("s"), RedirectURIs: []string{"https://app.test/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"api", "offline_access"},
		CreatedAt: now, UpdatedAt: now}
	must(t, store.CreateClient(ctx, c))
	must(t, store.CreateUser(ctx, &storage.User{ID: "u-alice", Username: "alice", CreatedAt: now, UpdatedAt: now}))
	first := storage.NewToken()
	must(t, store.CreateRefreshToken(ctx, &storage.RefreshToken{
		ID: "rt1", TokenHash: storage.HashToken(first), FamilyID: "fam1", ClientID: "app", UserID: "u-alice",
		Scopes: []string{"api", "offline_access"}, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour),
	}))
	refresh := func(token string) (string, error) {
		resp, err := (&tokenServer{p: p}).RefreshToken(ctx, &zop.ClientRequest[oidc.RefreshTokenRequest]{
			Client: client{c}, Request: &zop.Request[oidc.RefreshTokenRequest]{Data: &oidc.RefreshTokenRequest{RefreshToken: token}}})
		if err != nil {
			return "", err
		}
		return resp.Data.(*oidc.AccessTokenResponse).RefreshToken, nil
	}
	entries := func() []*storage.AuditEntry {
		all, err := store.ListAudit(ctx, storage.AuditFilter{}, 0, 100)
		must(t, err)
		return all
	}

	second, err := refresh(first)
	if err != nil || second == "" {
		t.Fatalf("first refresh: %q, %v", second, err)
	}
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"rotated token presented again", first},
		{"replay after the family was revoked", first},
		{"successor after the family was revoked", second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := refresh(tc.token); err == nil {
				t.Fatal("refresh accepted, want invalid_grant")
			}
			got := entries()
			if len(got) != 1 {
				t.Fatalf("%d audit entries, want exactly one: %+v", len(got), got)
			}
			e := got[0]
			if e.Action != storage.ActionRefreshReuse || e.ActorID != "u-alice" || e.Actor != "alice" ||
				e.Target != "client:app" || e.Detail != "family fam1 revoked" || !e.Time.Equal(now) {
				t.Errorf("audit entry = %+v, want token.reuse by alice on client:app", e)
			}
		})
	}
}

// TestAuditLogout: ending one session writes one logout.session entry
// with the reason, ending all of a user's one logout.all entry, and the
// expiry sweep none.
func TestAuditLogout(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, l *Logout)
		want *storage.AuditEntry // nil: no entry
	}{
		{"one session", func(t *testing.T, l *Logout) { must(t, l.EndSession(t.Context(), "s1", ReasonLogout)) },
			&storage.AuditEntry{Action: storage.ActionLogout, ActorID: "u-alice", Actor: "alice", Target: "session:s1", Detail: "logout"}},
		{"every session of the user", func(t *testing.T, l *Logout) {
			n, err := l.EndUserSessions(t.Context(), "u-alice", ReasonForcedLogout)
			must(t, err)
			if n != 2 {
				t.Errorf("ended %d sessions, want 2", n)
			}
		}, &storage.AuditEntry{Action: storage.ActionLogoutAll, ActorID: "u-alice", Actor: "alice", Target: "user:u-alice",
			Detail: "forced_logout; 2 sessions"}},
		{"expiry sweep", func(t *testing.T, l *Logout) {
			n, err := l.EndDueSessions(t.Context(), time.Minute, 10)
			must(t, err)
			if n != 2 {
				t.Errorf("swept %d sessions, want 2", n)
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newKeyClock()
			store := memory.New()
			now := clock.Now()
			must(t, store.CreateUser(t.Context(), &storage.User{ID: "u-alice", Username: "alice", CreatedAt: now, UpdatedAt: now}))
			for _, id := range []string{"s1", "s2"} {
				must(t, store.CreateSession(t.Context(), &storage.Session{ID: id, TokenHash: storage.HashToken(id), UserID: "u-alice",
					AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
			}
			if tc.want == nil {
				clock.Advance(2 * time.Hour)
			}
			tc.end(t, NewLogout(LogoutConfig{Store: store, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}))
			got, err := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10)
			must(t, err)
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("audit entries = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d audit entries, want exactly one: %+v", len(got), got)
			}
			w := *tc.want
			w.ID, w.Time = got[0].ID, clock.Now()
			if *got[0] != w {
				t.Errorf("audit entry = %+v, want %+v", got[0], &w)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
