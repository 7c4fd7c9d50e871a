package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// errInjected is the failure faultyStore injects.
var errInjected = errors.New("injected store failure")

// faultyStore fails the chosen writes, as a database that errors on
// those statements would, and passes everything else through (checklist
// R3).
type faultyStore struct {
	storage.Store
	failing atomic.Pointer[[]string]
}

func (f *faultyStore) fault(method string) error {
	if m := f.failing.Load(); m != nil && slices.Contains(*m, method) {
		return errInjected
	}
	return nil
}

// fail makes the named methods fail until heal.
func (f *faultyStore) fail(methods ...string) { f.failing.Store(&methods) }
func (f *faultyStore) heal()                  { f.failing.Store(nil) }

func (f *faultyStore) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	if err := f.fault("RevokeRefreshFamily"); err != nil {
		return err
	}
	return f.Store.RevokeRefreshFamily(ctx, familyID, at)
}

func (f *faultyStore) RedeemAuthCode(ctx context.Context, r *storage.CodeRedemption) (*storage.AuthRequest, bool, error) {
	if err := f.fault("RedeemAuthCode"); err != nil {
		return nil, false, err
	}
	return f.Store.RedeemAuthCode(ctx, r)
}

func (f *faultyStore) RedeemSealedCode(ctx context.Context, r *storage.CodeRedemption, req *storage.AuthRequest) (*storage.SealedRedemption, error) {
	if err := f.fault("RedeemSealedCode"); err != nil {
		return nil, err
	}
	return f.Store.RedeemSealedCode(ctx, r, req)
}

func (f *faultyStore) RotateRefreshToken(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace) (*storage.RefreshToken, error) {
	if err := f.fault("RotateRefreshToken"); err != nil {
		return nil, err
	}
	return f.Store.RotateRefreshToken(ctx, oldHash, next, now, grace)
}

func (f *faultyStore) RotateRefreshGrant(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time, grace storage.ReuseGrace, cond storage.RefreshConditions) (*storage.RotatedGrant, error) {
	if err := f.fault("RotateRefreshGrant"); err != nil {
		return nil, err
	}
	return f.Store.RotateRefreshGrant(ctx, oldHash, next, now, grace, cond)
}

func (f *faultyStore) CreateSession(ctx context.Context, s *storage.Session) error {
	if err := f.fault("CreateSession"); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, s)
}

func (f *faultyStore) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if err := f.fault("RevokeAccessToken"); err != nil {
		return err
	}
	return f.Store.RevokeAccessToken(ctx, jti, expiresAt)
}

func (f *faultyStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := f.fault("RevokeSession"); err != nil {
		return err
	}
	return f.Store.RevokeSession(ctx, id, at)
}

// TestChecklistR3FaultInjection covers checklist R3: when the one write a
// step depends on fails, the answer is an error (5xx, or a sign-in page),
// never a code, a token, a session or "logged out", and nothing has
// changed: once the store works again, the same code, refresh token or
// session still works (so the client can retry).
func TestChecklistR3FaultInjection(t *testing.T) {
	store := &faultyStore{Store: memory.New()}
	p := newTestServer(t, withStore(store))
	rcv := newReceiver(t)
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)

	t.Run("R3/session-create", func(t *testing.T) {
		br := newBrowser(t, p.URL)
		page, body := br.visit(fx.a.start().URL)
		store.fail("CreateSession")
		resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		store.heal()
		if resp.StatusCode < 500 || resp.Request.URL.Host != br.issuer.Host {
			t.Fatalf("sign-in with session storage failing: %d at %s, want a 5xx page at the provider", resp.StatusCode, resp.Request.URL)
		}
		for _, c := range br.client.Jar.Cookies(br.issuer) {
			if strings.Contains(c.Name, "session") {
				t.Fatalf("a session cookie was set: %s", c.Name)
			}
		}
	})

	br := newBrowser(t, p.URL)
	tk := fx.signIn(t, br, fx.a)

	for _, tc := range []struct {
		name, method string
		code         func(t *testing.T, f *flow) string
	}{
		{"R3/code-consume", "RedeemSealedCode", func(t *testing.T, f *flow) string { return fx.sealedCodeFor(t, br, fx.a, f) }}, // the SSO answer's code
		{"R3/code-consume-stored", "RedeemAuthCode", func(t *testing.T, f *flow) string {
			return fx.storedCodeFor(t, newBrowser(t, p.URL), fx.a, f)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fx.a.start()
			code := tc.code(t, f)
			store.fail(tc.method)
			_, err := fx.a.exchange(code, f)
			store.heal()
			if err == nil || !strings.Contains(err.Error(), "temporarily_unavailable") {
				t.Fatalf("code exchange with the store failing: %v, want temporarily_unavailable", err)
			}
			if _, err := fx.a.exchange(code, f); err != nil {
				t.Fatalf("the same code after the store recovered: %v (it must be unused)", err)
			}
		})
	}

	t.Run("R3/refresh-rotate", func(t *testing.T) {
		store.fail("RotateRefreshGrant", "RotateRefreshToken") // either way of rotating
		_, err := fx.a.refresh(tk.token.RefreshToken)
		store.heal()
		if err == nil || !strings.Contains(err.Error(), "temporarily_unavailable") {
			t.Fatalf("refresh with the store failing: %v, want temporarily_unavailable", err)
		}
		if _, err := fx.a.refresh(tk.token.RefreshToken); err != nil {
			t.Fatalf("the same refresh token after the store recovered: %v (it must not count as used)", err)
		}
	})

	t.Run("R3/revoke", func(t *testing.T) {
		at := fx.signIn(t, newBrowser(t, p.URL), fx.a).token.AccessToken
		store.fail("RevokeAccessToken")
		resp, body := fx.revoke(t, "app-a", at)
		store.heal()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("revocation with the store failing: %d %s, want 503 (RFC 7009 §2.2.1)", resp.StatusCode, body)
		}
		fx.assertLive(t, "app-a", at) // nothing claimed revoked that is not
	})

	t.Run("R3/logout", func(t *testing.T) {
		lb := newBrowser(t, p.URL)
		lt := fx.signIn(t, lb, fx.a)
		store.fail("RevokeSession")
		resp, _ := fx.endSession(lb, url.Values{"id_token_hint": {lt.rawIDToken()}, "post_logout_redirect_uri": {postLogoutA}})
		store.heal()
		if resp.StatusCode < 500 {
			t.Fatalf("logout with the store failing: %d at %s, want a 5xx page, not the post-logout redirect", resp.StatusCode, resp.Request.URL)
		}
		if got := fx.promptNone(t, lb, fx.a); got != "" {
			t.Fatalf("session after the failed logout: prompt=none gave %q; want it still live (the person was told it failed)", got)
		}
	})
}

// lyingStore answers RedeemAuthCode and RedeemSealedCode against what it
// did, once lie is set: with dropToken it asks its store for no refresh
// token (so none is stored although the checks hold); otherwise it
// reports a stored token that was not (and, for a sealed code, a grant).
type lyingStore struct {
	storage.Store
	dropToken bool
	lie       atomic.Bool
}

func (l *lyingStore) RedeemSealedCode(ctx context.Context, r *storage.CodeRedemption, req *storage.AuthRequest) (*storage.SealedRedemption, error) {
	if !l.lie.Load() {
		return l.Store.RedeemSealedCode(ctx, r, req)
	}
	if l.dropToken {
		r.RefreshToken = nil
	}
	res, err := l.Store.RedeemSealedCode(ctx, r, req)
	if err == nil && !l.dropToken {
		res.Granted, res.Stored = true, true
	}
	return res, err
}

func (l *lyingStore) RedeemAuthCode(ctx context.Context, r *storage.CodeRedemption) (*storage.AuthRequest, bool, error) {
	if !l.lie.Load() {
		return l.Store.RedeemAuthCode(ctx, r)
	}
	if l.dropToken {
		r.RefreshToken = nil
	}
	req, stored, err := l.Store.RedeemAuthCode(ctx, r)
	return req, stored || !l.dropToken, err
}

// TestCodeExchangeFailsClosedWhenStoreDisagrees: the code exchange checks
// the request in Go and, for the refresh token, in the store's statement
// (RedeemAuthCode); when the two disagree the answer is a server error,
// never tokens, and the code stays burned.
func TestCodeExchangeFailsClosedWhenStoreDisagrees(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dropToken bool
		// verifier is the code_verifier sent; nil: the right one.
		verifier func(*flow) string
		// logout revokes the session between the code and its exchange
		// (which only a sealed code's exchange checks).
		logout bool
	}{
		{name: "checks hold, no token stored", dropToken: true},
		{name: "a check fails, token reported stored",
			verifier: func(*flow) string { return oauth2.GenerateVerifier() }},
		{name: "session ended, token reported stored", logout: true},
	} {
		// The SSO answer's code is sealed (RedeemSealedCode); the login
		// page's is stored (RedeemAuthCode).
		for _, sealed := range []bool{true, false} {
			if tc.logout && !sealed {
				continue
			}
			t.Run(fmt.Sprintf("%s/sealed=%v", tc.name, sealed), func(t *testing.T) {
				ls := &lyingStore{Store: memory.New(), dropToken: tc.dropToken}
				fx := newSSOFixture(t, ls)
				br := newBrowser(t, fx.p.URL)
				f := fx.a.start()
				var code string
				if sealed {
					fx.signIn(t, br, fx.a)
					code = fx.sealedCodeFor(t, br, fx.a, f)
				} else {
					code = fx.storedCodeFor(t, br, fx.a, f)
				}
				verifier := f.verifier
				if tc.verifier != nil {
					verifier = tc.verifier(f)
				}
				if tc.logout {
					revokeSessions(t, ls, "alice")
				}
				ls.lie.Store(true)
				_, err := fx.a.oauth.Exchange(fx.a.ctx, code, oauth2.VerifierOption(verifier))
				ls.lie.Store(false)
				if got := grantError(err); got != "temporarily_unavailable" {
					t.Fatalf("exchange: %q, want temporarily_unavailable", got)
				}
				if _, err := fx.a.exchange(code, f); grantError(err) != "invalid_grant" {
					t.Fatalf("the code after the failed exchange: %v, want invalid_grant (burned)", err)
				}
			})
		}
	}
}

// laxRotationStore rotates refresh tokens without the scope condition op
// asks for, once lax is set: the store's statement and op's checks
// disagree.
type laxRotationStore struct {
	storage.Store
	lax atomic.Bool
}

func (l *laxRotationStore) RotateRefreshGrant(ctx context.Context, oldHash string, next *storage.RefreshToken, now time.Time,
	grace storage.ReuseGrace, cond storage.RefreshConditions) (*storage.RotatedGrant, error) {
	if l.lax.Load() {
		cond.Scopes = nil
	}
	return l.Store.RotateRefreshGrant(ctx, oldHash, next, now, grace, cond)
}

// TestRefreshFailsClosedWhenStoreDisagrees: a refresh is checked in the
// store's one statement (RotateRefreshGrant) and again by op without I/O;
// a rotation op's checks refuse is answered with a server error, never
// tokens, and the family is revoked, so neither the presented token nor
// the successor nobody received refreshes again.
func TestRefreshFailsClosedWhenStoreDisagrees(t *testing.T) {
	ls := &laxRotationStore{Store: memory.New()}
	fx := newSSOFixture(t, ls)
	br := newBrowser(t, fx.p.URL)
	rt := fx.signIn(t, br, fx.a).token.RefreshToken
	if rt == "" {
		t.Fatal("no refresh token from the code exchange")
	}
	ls.lax.Store(true)
	resp, body := fx.p.post(t, "/token", "app-a", fx.secret["app-a"], url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid phone"},
	})
	ls.lax.Store(false)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("refresh for a scope never granted, rotated by the store: %d %s; want 503 temporarily_unavailable", resp.StatusCode, body)
	}
	if strings.Contains(body, "access_token") {
		t.Fatalf("tokens in the refused answer: %s", body)
	}
	if _, err := fx.a.refresh(rt); grantError(err) != "invalid_grant" {
		t.Fatalf("the presented token after the refused rotation: %v; want invalid_grant (family revoked)", err)
	}
}
