package main

import (
	"errors"
	"github.com/monban-idp/monban/cmd/internal/janitor"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestJanitor: the janitor deletes expired auth requests and sign-in
// throttles, leaves live ones, runs at most once per interval per process,
// and two janitors (two replicas) on one store do not get in each other's
// way.
func TestJanitor(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addClient(t, storage.Client{ID: "app", Name: "App", RedirectURIs: []string{redirectA}})
		now := p.Clock.Now()
		for _, r := range []struct {
			id      string
			expires time.Time
		}{{"expired", now.Add(-time.Minute)}, {"live", now.Add(time.Hour)}} {
			if err := store.CreateAuthRequest(t.Context(), &storage.AuthRequest{ID: r.id, ClientID: "app",
				RedirectURI: redirectA, Scopes: []string{"openid"}, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: r.expires}); err != nil {
				t.Fatal(err)
			}
		}
		policy := storage.ThrottlePolicy{Window: 15 * time.Minute, Free: 5, Delay: time.Second, MaxDelay: time.Minute}
		if _, _, err := store.RecordLoginFailure(t.Context(), "user:alice", now, policy); err != nil {
			t.Fatal(err)
		}
		newJanitor := func() *janitor.Janitor {
			j, err := janitor.New(janitor.Config{Store: store, Now: p.Clock.Now, Interval: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return j
		}
		j, replica := newJanitor(), newJanitor()
		exists := func(id string) bool {
			_, err := store.GetAuthRequest(t.Context(), id)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		throttled := func() bool {
			_, err := store.GetLoginThrottle(t.Context(), "user:alice")
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		for _, step := range []struct {
			name          string
			advance       time.Duration
			janitor       *janitor.Janitor
			want          janitor.Result
			wantExpired   bool // the expired auth request is still there
			wantThrottled bool
		}{
			{name: "first-step-deletes-expired", janitor: j,
				want: janitor.Result{Ran: true, AuthRequests: 1}, wantThrottled: true},
			{name: "other-replica-finds-nothing", janitor: replica,
				want: janitor.Result{Ran: true}, wantThrottled: true},
			{name: "not-due-yet", advance: time.Minute, janitor: j, want: janitor.Result{}, wantThrottled: true},
			{name: "throttle-expired", advance: 20 * time.Minute, janitor: j,
				want: janitor.Result{Ran: true, LoginThrottles: 1}},
		} {
			t.Run(step.name, func(t *testing.T) {
				p.Clock.Advance(step.advance)
				got, err := step.janitor.Step(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got != step.want {
					t.Fatalf("Step = %+v, want %+v", got, step.want)
				}
				if exists("expired") != step.wantExpired || !exists("live") && p.Clock.Now().Before(now.Add(time.Hour)) {
					t.Fatalf("expired request there: %v, live there: %v", exists("expired"), exists("live"))
				}
				if throttled() != step.wantThrottled {
					t.Fatalf("throttle there: %v, want %v", throttled(), step.wantThrottled)
				}
			})
		}
	})
}
