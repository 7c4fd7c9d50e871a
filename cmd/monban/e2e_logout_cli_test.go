package main

import (
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestCLIForcedLogout: `monban user logout-everywhere` and `user disable`,
// run against a provider's database, take everything away at once:
// session-bound and offline grants alike, and every application the
// sessions served gets a back-channel logout token (checklist S6, T12).
func TestCLIForcedLogout(t *testing.T) {
	for _, tc := range []struct {
		name, sub, want string
	}{
		{"S6/logout-everywhere", "logout-everywhere", "Signed \"alice\" out everywhere: ended 1 session(s) and revoked all refresh tokens.\n"},
		{"S6/disable", "disable", "Disabled user \"alice\"; signed out 1 session(s).\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			store, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(store.Close)
			rcv := newReceiver(t)
			p := newTestServer(t, withStore(store))
			registerLogoutClients(t, p, rcv)
			fx := openLogoutFixture(t, p, rcv)
			br := newBrowser(t, p.URL)
			a := fx.signIn(t, br, fx.a)
			b := fx.silent(t, br, fx.b, oauth2.SetAuthURLParam("scope", "openid offline_access"))

			r := mustRun(t, map[string]string{"MONBAN_DATABASE_URL": dsn}, "", "user", tc.sub, "alice")
			if r.stdout != tc.want {
				t.Errorf("stdout %q, want %q", r.stdout, tc.want)
			}
			fx.assertDead(t, "app-a", a.token.AccessToken)
			fx.assertDead(t, "app-b", b.token.AccessToken)
			for _, rt := range []struct {
				r     *rp
				token string
			}{{fx.a, a.token.RefreshToken}, {fx.b, b.token.RefreshToken}} {
				if _, err := rt.r.refresh(rt.token); grantError(err) != "invalid_grant" {
					t.Errorf("refresh after %s: %v", tc.sub, err)
				}
			}
			if got := fx.promptNone(t, br, fx.a); got != "login_required" {
				t.Errorf("prompt=none after %s: %q", tc.sub, got)
			}
			p.Clock.Advance(time.Minute) // the CLI stamped the deliveries with the wall clock
			step(t, p, 2, 0)
			fx.assertLogoutTokens(t, p, map[string]*tokens{"app-a": a, "app-b": b})
		})
	}
}
