package op

import (
	"context"
	"errors"
	"io"
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

// stubBrowser is a Browser for tests: its error page shows only what an
// error's Public method allows, like package web's, and the status.
type stubBrowser struct{}

func (stubBrowser) SignInURL(string) string  { return "/login" }
func (stubBrowser) ConsentURL(string) string { return "/consent" }

func (stubBrowser) SelectAccountURL(string) string { return "/select-account" }

func (stubBrowser) Fail(w http.ResponseWriter, _ *http.Request, err error) {
	status, title, detail := http.StatusServiceUnavailable, "Something went wrong", "Try again."
	var pub interface{ Public() (int, string, string) }
	if errors.As(err, &pub) {
		status, title, detail = pub.Public()
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, title+"\n"+detail)
}

func (stubBrowser) ConfirmLogout(w http.ResponseWriter, _ *http.Request, _ *storage.Client, _, _ string) {
	_, _ = io.WriteString(w, "confirm sign-out")
}

// stubSessions is a Sessions without any browser session, over a store.
type stubSessions struct{ store storage.Store }

func (stubSessions) Current(*http.Request) (*storage.Session, error) { return nil, nil }
func (stubSessions) Clear(http.ResponseWriter)                       {}
func (stubSessions) Live(s *storage.Session, now time.Time) bool     { return s.Active(now, time.Hour) }
func (stubSessions) IdleTimeout() time.Duration                      { return time.Hour }
func (s stubSessions) EndSession(ctx context.Context, id, _ string) error {
	return s.store.RevokeSession(ctx, id, time.Now())
}

// memoryProvider is a Provider on a memory store with RS256 and ES256
// keys and no pages, and the time of its clock.
func memoryProvider(t *testing.T) (*Provider, *memory.Store, time.Time) {
	t.Helper()
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, clock.Now, jose.RS256, jose.ES256)
	p, err := New(Config{Issuer: checklistIssuer, Store: store, Keys: k, Browser: stubBrowser{}, Sessions: stubSessions{store}, Now: clock.Now,
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
	f := newRefreshFixture(t)
	store, now, refresh := f.store, f.now, f.refresh
	first := storage.NewToken()
	must(t, store.CreateRefreshToken(ctx, &storage.RefreshToken{
		ID: "rt1", TokenHash: storage.HashToken(first), FamilyID: "fam1", ClientID: "app", UserID: "u-alice",
		Scopes: []string{"api", "offline_access"}, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour),
	}))
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

// refreshFixture is a memory provider with a confidential web client
// "app" that may refresh, and the user u-alice.
type refreshFixture struct {
	ctx   context.Context
	p     *Provider
	store *memory.Store
	now   time.Time
	c     *storage.Client
}

func newRefreshFixture(t *testing.T) *refreshFixture {
	t.Helper()
	p, store, now := memoryProvider(t)
	c := &storage.Client{ID: "app", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		SecretHash: storage.HashToken("s"), RedirectURIs: []string{"https://app.test/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"api", "offline_access"},
		CreatedAt: now, UpdatedAt: now}
	must(t, store.CreateClient(t.Context(), c))
	must(t, store.CreateUser(t.Context(), &storage.User{ID: "u-alice", Username: "alice", CreatedAt: now, UpdatedAt: now}))
	return &refreshFixture{ctx: t.Context(), p: p, store: store, now: now, c: c}
}

// refresh presents token at the token endpoint as the client and returns
// the refresh token issued in exchange.
func (f *refreshFixture) refresh(token string) (string, error) {
	resp, err := (&tokenServer{p: f.p}).RefreshToken(f.ctx, &zop.ClientRequest[oidc.RefreshTokenRequest]{
		Client: client{f.c}, Request: &zop.Request[oidc.RefreshTokenRequest]{Data: &oidc.RefreshTokenRequest{RefreshToken: token}}})
	if err != nil {
		return "", err
	}
	return resp.Data.(*oidc.AccessTokenResponse).RefreshToken, nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
