package main

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// step runs one round of the provider's background work and checks what
// it delivered.
func step(t *testing.T, p *testProvider, wantDelivered, wantRetrying int) op.StepResult {
	t.Helper()
	res, err := p.Worker.Step(t.Context())
	if err != nil {
		t.Fatalf("worker step: %v", err)
	}
	if res.Delivered != wantDelivered || res.Retrying != wantRetrying {
		t.Fatalf("worker step: %+v; want %d delivered, %d retrying", res, wantDelivered, wantRetrying)
	}
	return res
}

// ssoBoth signs alice in to app-a and, silently, app-b, and returns the
// ID token claims of both.
func (fx *logoutFixture) ssoBoth(t *testing.T, br *browser) (a, b *tokens) {
	t.Helper()
	return fx.signIn(t, br, fx.a), fx.silent(t, br, fx.b)
}

// logoutA ends the session through app-a's RP-initiated logout.
func (fx *logoutFixture) logoutA(t *testing.T, br *browser, a *tokens) {
	t.Helper()
	resp, _ := fx.endSession(br, url.Values{"id_token_hint": {a.rawIDToken()}, "post_logout_redirect_uri": {postLogoutA}})
	assertRedirect(t, resp, postLogoutA)
}

// assertLogoutTokens checks that each client got exactly one logout token,
// valid per Back-Channel Logout 1.0 §2.4 (checklist L5), verified against
// the JWKS with go-jose, naming the session of its ID token.
func (fx *logoutFixture) assertLogoutTokens(t *testing.T, p *testProvider, idTokens map[string]*tokens) {
	t.Helper()
	got := fx.rcv.received()
	if len(got) != len(idTokens) {
		t.Fatalf("receivers got tokens for %d clients, want %d: %v", len(got), len(idTokens), got)
	}
	jtis := map[string]bool{}
	for clientID, tk := range idTokens {
		if len(got[clientID]) != 1 {
			t.Fatalf("%s got %d logout tokens, want exactly 1", clientID, len(got[clientID]))
		}
		typ, c := p.verifyJWT(t, got[clientID][0])
		if typ != "logout+jwt" {
			t.Errorf("%s: typ %q, want logout+jwt", clientID, typ)
		}
		events, _ := c["events"].(map[string]any)
		member, ok := events[op.EventBackChannelLogout].(map[string]any)
		aud, _ := c["aud"].([]any)
		iat, _ := c["iat"].(float64)
		exp, _ := c["exp"].(float64)
		switch {
		case c["iss"] != p.URL || len(aud) != 1 || aud[0] != clientID:
			t.Errorf("%s: iss %v aud %v", clientID, c["iss"], c["aud"])
		case !ok || len(member) != 0 || len(events) != 1:
			t.Errorf("%s: events %v", clientID, c["events"])
		case c["sid"] != tk.claims["sid"] || c["sub"] != tk.idToken.Subject:
			t.Errorf("%s: sid %v sub %v; the ID token has sid %v sub %v", clientID, c["sid"], c["sub"], tk.claims["sid"], tk.idToken.Subject)
		case c["nonce"] != nil:
			t.Errorf("%s: a logout token must not contain a nonce: %v", clientID, c)
		case exp <= iat || exp-iat > 120 || iat < float64(p.Clock.Now().Add(-time.Minute).Unix()):
			t.Errorf("%s: iat %v exp %v", clientID, iat, exp)
		case c["jti"] == nil || jtis[c["jti"].(string)]:
			t.Errorf("%s: jti %v missing or repeated", clientID, c["jti"])
		default:
			jtis[c["jti"].(string)] = true
		}
	}
}

// TestBackchannelLogout is issue #3's "must show" 4 (checklist L5, L6, S5).
func TestBackchannelLogout(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, fx *logoutFixture, br *browser)
	}{
		{"L5/one-valid-token-per-client", func(t *testing.T, fx *logoutFixture, br *browser) {
			a, b := fx.ssoBoth(t, br)
			fx.logoutA(t, br, a)
			step(t, fx.p, 2, 0)
			fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a, "app-b": b})
			step(t, fx.p, 0, 0) // nothing is sent twice
			fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a, "app-b": b})
		}},
		{"L6/receiver-down-then-back", func(t *testing.T, fx *logoutFixture, br *browser) {
			a, b := fx.ssoBoth(t, br)
			fx.rcv.down()
			fx.logoutA(t, br, a) // the person's logout completes anyway
			step(t, fx.p, 0, 2)
			fx.rcv.up()
			step(t, fx.p, 0, 0) // not due yet: backoff
			fx.p.Clock.Advance(10 * time.Second)
			step(t, fx.p, 2, 0)
			fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a, "app-b": b})
		}},
		{"L6/redirect-not-followed-and-gives-up", func(t *testing.T, fx *logoutFixture, br *browser) {
			a, _ := fx.ssoBoth(t, br)
			fx.rcv.answer("app-b", 302)
			fx.logoutA(t, br, a)
			step(t, fx.p, 1, 1)
			for range op.DefaultLogoutAttempts - 2 {
				fx.p.Clock.Advance(time.Hour)
				step(t, fx.p, 0, 1)
			}
			fx.p.Clock.Advance(time.Hour)
			if res := step(t, fx.p, 0, 0); res.Failed != 1 {
				t.Fatalf("last attempt: %+v, want 1 failed", res)
			}
			if fx.rcv.hitsOf("/elsewhere") != 0 {
				t.Errorf("the redirect was followed")
			}
			failed, err := fx.p.Store.LogoutOutbox().ListFailed(t.Context())
			if err != nil || len(failed) != 1 || failed[0].ClientID != "app-b" ||
				failed[0].Attempts != op.DefaultLogoutAttempts || failed[0].LastError != "HTTP 302 (redirects are not followed)" {
				t.Fatalf("failed deliveries: %+v, %v", failed, err)
			}
		}},
		{"S5/expired-session-is-ended-and-announced", func(t *testing.T, fx *logoutFixture, br *browser) {
			a, b := fx.ssoBoth(t, br)
			fx.p.Clock.Advance(time.Hour) // the default idle timeout
			if res := step(t, fx.p, 2, 0); res.SessionsEnded != 1 {
				t.Fatalf("step: %+v, want 1 session ended", res)
			}
			fx.assertLogoutTokens(t, fx.p, map[string]*tokens{"app-a": a, "app-b": b})
			if res := step(t, fx.p, 0, 0); res.SessionsEnded != 0 {
				t.Fatalf("the sweep ended a session twice: %+v", res)
			}
			if _, err := fx.a.refresh(a.token.RefreshToken); grantError(err) != "invalid_grant" {
				t.Fatalf("refresh of an expired session's grant: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, store storage.Store) {
				fx := newLogoutFixture(t, store)
				tc.run(t, fx, newBrowser(t, fx.p.URL))
			})
		})
	}
}

// TestBackchannelAcrossRestart: deliveries survive a provider restart on
// PostgreSQL (checklist L6, R11). The first instance logs out while the
// receiver is down and stops; a second instance over the same database,
// address and secrets delivers once the receiver is back.
func TestBackchannelAcrossRestart(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	rcv := newReceiver(t)
	store1 := open()
	p1 := newTestServer(t, withStore(store1), withListener(ln))
	registerLogoutClients(t, p1, rcv)
	fx := openLogoutFixture(t, p1, rcv)
	br := newBrowser(t, p1.URL)
	a, b := fx.ssoBoth(t, br)
	rcv.down()
	fx.logoutA(t, br, a)
	step(t, p1, 0, 2)
	p1.srv.Close()
	store1.Close()

	rcv.up()
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	p2 := newTestServer(t, withStore(open()), withListener(ln2), withKEK(p1.KEK), withClock(p1.Clock))
	if p2.URL != p1.URL {
		t.Fatalf("restarted issuer %s, want %s", p2.URL, p1.URL)
	}
	step(t, p2, 0, 0)
	p2.Clock.Advance(10 * time.Second)
	step(t, p2, 2, 0)
	fx.assertLogoutTokens(t, p2, map[string]*tokens{"app-a": a, "app-b": b})

	// R11: the restart did not bring the session back.
	fx2 := openLogoutFixture(t, p2, rcv)
	if got := fx2.promptNone(t, br, fx2.b); got != "login_required" {
		t.Fatalf("prompt=none after restart: %q", got)
	}
}
