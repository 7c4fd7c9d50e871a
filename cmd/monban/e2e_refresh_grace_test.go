package main

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

// TestDefaultRefreshGraceSurvivesConcurrentTabs (issue #13 item 4,
// checklist T9/R5): with the default configuration, two browser tabs that
// refresh the same token at the same moment both get tokens and the
// family stays alive; the rotated token presented again after the grace
// window still revokes the whole family (RFC 9700 §4.14.2).
func TestDefaultRefreshGraceSurvivesConcurrentTabs(t *testing.T) {
	def := defaultConfig()
	forEachStore(t, func(t *testing.T, store storage.Store) {
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.RefreshReuseGrace, c.RefreshReuseMax = def.RefreshReuseGrace, def.RefreshReuseMax
		}))
		registerLogoutClients(t, p, rcv)
		fx := openLogoutFixture(t, p, rcv)
		r1 := fx.signIn(t, newBrowser(t, p.URL), fx.a).token.RefreshToken

		// Both tabs send r1 at once: they wait on one gate, then refresh.
		var (
			wg   sync.WaitGroup
			gate = make(chan struct{})
			toks [2]*oauth2.Token
			errs [2]error
		)
		for i := range toks {
			wg.Go(func() {
				<-gate
				toks[i], errs[i] = fx.a.refresh(r1)
			})
		}
		close(gate)
		wg.Wait()
		t.Run("R5/two-concurrent-refreshes-both-succeed", func(t *testing.T) {
			for i, err := range errs {
				if err != nil {
					t.Fatalf("tab %d: %v, want new tokens", i+1, err)
				}
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		t.Run("R5/the-family-stays-alive", func(t *testing.T) {
			for i, tok := range toks {
				fx.assertLive(t, "app-a", tok.AccessToken)
				next, err := fx.a.refresh(tok.RefreshToken)
				if err != nil {
					t.Fatalf("tab %d's next refresh: %v", i+1, err)
				}
				toks[i] = next
			}
		})
		t.Run("T9/reuse-after-the-window-revokes-the-family", func(t *testing.T) {
			p.Clock.Advance(def.RefreshReuseGrace + time.Second)
			if _, err := fx.a.refresh(r1); grantError(err) != "invalid_grant" {
				t.Fatalf("reuse after the window: %v, want invalid_grant", err)
			}
			for i, tok := range toks {
				if _, err := fx.a.refresh(tok.RefreshToken); grantError(err) != "invalid_grant" {
					t.Errorf("tab %d's refresh token after the reuse: %v, want invalid_grant", i+1, err)
				}
				fx.assertDead(t, "app-a", tok.AccessToken)
			}
		})
	})
}

// TestRefreshGraceIsBounded (checklist T9): inside the default window the
// rotated token is accepted only RefreshReuseMax more times; the next
// reuse revokes the family at once.
func TestRefreshGraceIsBounded(t *testing.T) {
	def := defaultConfig()
	forEachStore(t, func(t *testing.T, store storage.Store) {
		rcv := newReceiver(t)
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) {
			c.RefreshReuseGrace, c.RefreshReuseMax = def.RefreshReuseGrace, def.RefreshReuseMax
		}))
		registerLogoutClients(t, p, rcv)
		fx := openLogoutFixture(t, p, rcv)
		r1 := fx.signIn(t, newBrowser(t, p.URL), fx.a).token.RefreshToken
		var last *oauth2.Token
		for i := range 1 + def.RefreshReuseMax { // the rotation, then each allowed reuse
			tok, err := fx.a.refresh(r1)
			if err != nil {
				t.Fatalf("use %d inside the window: %v", i+1, err)
			}
			last = tok
		}
		if _, err := fx.a.refresh(r1); grantError(err) != "invalid_grant" {
			t.Fatalf("reuse beyond the count: %v, want invalid_grant", err)
		}
		fx.assertDead(t, "app-a", last.AccessToken)
	})
}
