package main

import (
	"github.com/monban-idp/monban/cmd/internal/app"

	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
	"github.com/monban-idp/monban/storage/storagetest"
)

// TestReplicasActAsOneProvider is issue #6's "must show" 1: two provider
// instances with their own connection pools and caches, sharing only the
// PostgreSQL database and the configured secrets (as replicas behind a
// load balancer do, no sticky sessions), behave as one provider: sign in
// through A, get a code through B without a login form, log out through B,
// and prompt=none through A answers login_required.
func TestReplicasActAsOneProvider(t *testing.T) {
	issuer, via, stores, clock := startReplicas(t)
	p := &testProvider{URL: issuer, Store: stores[0], Clock: clock}
	rcv := newReceiver(t)
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	br := newBrowser(t, issuer)

	via(0)
	f := fx.a.start()
	page, body := br.visit(f.URL) // the login form comes from A…
	via(1)
	resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword}) // …and is posted to B
	a, err := fx.a.exchange(fx.a.callbackParams(resp, f, issuer).Get("code"), f)
	if err != nil {
		t.Fatalf("sign-in across replicas: %v", err)
	}
	via(0)
	b := fx.silent(t, br, fx.b) // B's client, served by A, with no login form
	if a.claims["sid"] != b.claims["sid"] {
		t.Fatalf("sid differs across replicas: %v vs %v", a.claims["sid"], b.claims["sid"])
	}
	via(1)
	fx.logoutA(t, br, a) // log out through B
	via(0)
	if got := fx.promptNone(t, br, fx.a); got != "login_required" {
		t.Fatalf("prompt=none through A after logout through B: %q, want login_required", got)
	}
	fx.assertDead(t, "app-b", b.token.AccessToken)
}

// startReplicas starts two provider instances with their own pools and
// caches on one PostgreSQL database, behind one address; via(i) makes
// replica i answer the next requests.
func startReplicas(t *testing.T) (issuer string, via func(int32), stores [2]storage.Store, clock *storagetest.Clock) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	front := httptest.NewUnstartedServer(nil)
	issuer = "http://" + front.Listener.Addr().String()
	clock = storagetest.NewClock(time.Now().UTC().Truncate(time.Second))
	var replicas [2]http.Handler
	for i := range replicas {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		// Both replicas get the keys and the CSRF key from the same
		// secret, as serve does from MONBAN_SECRETS.
		p := newTestServer(t, withStore(st), withIssuer(issuer), withClock(clock), withConfig(func(c *app.Config) {
			c.Secrets, c.KEK = []string{testSecret}, nil
		}))
		replicas[i], stores[i] = p.App.Handler(), st
	}
	// The load balancer: the test decides which replica answers.
	var target atomic.Int32
	front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replicas[target.Load()].ServeHTTP(w, r)
	})
	front.Start()
	t.Cleanup(front.Close)
	return issuer, func(i int32) { target.Store(i) }, stores, clock
}

// TestReplicasSeeRevocationsAtOnce: a replica that has introspected a
// token and remembered it live (its liveness cache) answers inactive on
// the very next request after another replica, or the CLI, takes the
// token away: a revoked access token, a logged-out session, a disabled
// user, a revoked refresh family. The user's liveness version and the
// deny list are read from the database on every request, so no
// notification has to arrive first.
func TestReplicasSeeRevocationsAtOnce(t *testing.T) {
	issuer, via, stores, clock := startReplicas(t)
	p := &testProvider{URL: issuer, Store: stores[0], Clock: clock}
	rcv := newReceiver(t)
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	warm := func(t *testing.T, token string) {
		t.Helper()
		for _, r := range []int32{0, 1} { // both replicas remember the token live
			via(r)
			fx.assertLive(t, "app-a", token)
			fx.assertLive(t, "app-a", token) // the second answer comes from the cache
		}
	}
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, br *browser, tk *tokens)
	}{
		{"access-token-revoked-through-B", func(t *testing.T, _ *browser, tk *tokens) {
			via(1)
			if resp, body := fx.revoke(t, "app-a", tk.token.AccessToken); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
		}},
		{"refresh-family-revoked-through-B", func(t *testing.T, _ *browser, tk *tokens) {
			via(1)
			if resp, body := fx.revoke(t, "app-a", tk.token.RefreshToken); resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
		}},
		{"logout-through-B", func(t *testing.T, br *browser, tk *tokens) {
			via(1)
			fx.logoutA(t, br, tk)
		}},
		{"user-disabled-by-the-cli", func(t *testing.T, _ *browser, tk *tokens) {
			u, err := stores[1].GetUserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			setDisabled := func(ctx context.Context, off bool) error {
				_, err := stores[1].UpdateUser(ctx, u.ID, func(u *storage.User) error { u.Disabled = off; return nil })
				return err
			}
			if err := setDisabled(t.Context(), true); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := setDisabled(context.Background(), false); err != nil {
					t.Error(err)
				}
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := newBrowser(t, issuer) // a new person's browser each time
			via(0)
			tk := fx.signIn(t, br, fx.a)
			warm(t, tk.token.AccessToken)
			tc.revoke(t, br, tk)
			via(0)
			fx.assertDead(t, "app-a", tk.token.AccessToken)
		})
	}
}
