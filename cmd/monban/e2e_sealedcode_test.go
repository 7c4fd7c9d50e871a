package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// revokeSessions ends every session of the user as a forced logout does.
func revokeSessions(t *testing.T, st storage.Store, username string) {
	t.Helper()
	u, err := st.GetUserByUsername(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeUserSessions(t.Context(), u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// sealedCodeFor is codeFor for a code that must be sealed (the SSO fast
// path, issue #21).
func (fx *ssoFixture) sealedCodeFor(t *testing.T, br *browser, r *rp, f *flow) string {
	t.Helper()
	code := fx.codeFor(t, br, r, f)
	if !pending.IsSealedCode(code) || len(code) > pending.MaxCodeLen {
		t.Fatalf("the SSO answer's code %q is not a sealed code of at most %d bytes", code, pending.MaxCodeLen)
	}
	return code
}

// storedCodeFor signs br in as alice through the login page for f and
// returns the code it answers with, which is stored (not sealed), without
// redeeming it.
func (fx *ssoFixture) storedCodeFor(t *testing.T, br *browser, r *rp, f *flow) string {
	t.Helper()
	page, body := br.visit(f.URL)
	resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
	code := r.callbackParams(resp, f, fx.p.URL).Get("code")
	if code == "" || pending.IsSealedCode(code) {
		t.Fatalf("the login page's code %q is not a stored code", code)
	}
	return code
}

// TestSealedCodes: a browser with a live session gets a sealed code,
// which carries its request (nothing is stored at /authorize), and the
// code keeps the properties of a stored one: single use with the family
// revoked on replay (T1), short-lived (T4); and a logout between
// /authorize and /token wins, for a stored code too. A code that does not
// open is invalid_grant. Its binding to client, redirect_uri and PKCE
// verifier (T2, T3, T5) is TestCodeAndPKCE's, for both kinds of code.
func TestSealedCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLogoutFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		first := fx.signIn(t, br, fx.a) // the login page's code: stored
		sid, _ := first.claims["sid"].(string)

		t.Run("works with a real relying party", func(t *testing.T) {
			f := fx.b.start()
			code := fx.sealedCodeFor(t, br, fx.b, f)
			tok, err := fx.b.exchange(code, f) // x/oauth2 and go-oidc verify the ID token
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if got, _ := tok.claims["sid"].(string); got != sid || tok.idToken.Subject != first.idToken.Subject {
				t.Fatalf("sid %q sub %q, want the session's %q %q", got, tok.idToken.Subject, sid, first.idToken.Subject)
			}
			fx.assertLive(t, "app-b", tok.token.AccessToken)
			if _, err := fx.b.refresh(tok.token.RefreshToken); err != nil {
				t.Fatalf("refresh of the family the sealed code started: %v", err)
			}
			// The exchange recorded the session as serving app-b, for
			// back-channel logout.
			clients, err := store.ListSessionClients(t.Context(), sid)
			if err != nil || !slices.Contains(clients, "app-b") {
				t.Fatalf("session clients %v (%v), want app-b among them", clients, err)
			}
		})

		t.Run("T1/replay revokes the family", func(t *testing.T) {
			f := fx.a.start()
			code := fx.sealedCodeFor(t, br, fx.a, f)
			tok, err := fx.a.exchange(code, f)
			if err != nil {
				t.Fatalf("first redemption: %v", err)
			}
			if _, err := fx.a.exchange(code, f); grantError(err) != "invalid_grant" {
				t.Fatalf("replay: %v, want invalid_grant", err)
			}
			fx.assertDead(t, "app-a", tok.token.AccessToken)
			if _, err := fx.a.refresh(tok.token.RefreshToken); grantError(err) != "invalid_grant" {
				t.Fatalf("the first redemption's refresh token after the replay: %v, want invalid_grant", err)
			}
			// Another text of the same code (base64url decoding would
			// skip line breaks) is refused, not redeemed.
			if _, err := fx.a.exchange(code[:20]+"\n"+code[20:], f); grantError(err) != "invalid_grant" {
				t.Fatalf("the code with a line break: %v, want invalid_grant", err)
			}
		})

		t.Run("T4/expired", func(t *testing.T) {
			f := fx.a.start()
			code := fx.sealedCodeFor(t, br, fx.a, f)
			fx.p.Clock.Advance(61 * time.Second)
			if _, err := fx.a.exchange(code, f); grantError(err) != "invalid_grant" {
				t.Fatalf("a code 61 s old: %v, want invalid_grant", err)
			}
		})

		t.Run("tampered", func(t *testing.T) {
			f := fx.a.start()
			code := fx.sealedCodeFor(t, br, fx.a, f)
			for _, bad := range []string{
				code[:len(code)/2] + flipChar(code[len(code)/2]) + code[len(code)/2+1:],
				code[:len(code)-1] + flipChar(code[len(code)-1]),
				code[:len(code)-10],
				pending.CodePrefix + "AAAA",
				pending.CodePrefix + strings.Repeat("A", 4*pending.MaxCodeLen),
				pending.CodePrefix + "%%%%",
				pending.Prefix + code[len(pending.CodePrefix):],
			} {
				if _, err := fx.a.exchange(bad, f); grantError(err) != "invalid_grant" {
					t.Fatalf("tampered code %.40q…: %v, want invalid_grant", bad, err)
				}
			}
			// Nothing a forgery did touches the real code.
			if _, err := fx.a.exchange(code, f); err != nil {
				t.Fatalf("the real code after forgeries: %v", err)
			}
		})

		// A logout between /authorize and /token wins: invalid_grant, no
		// tokens, and the session is not recorded as serving the client.
		for _, tc := range []struct {
			name string
			end  func(t *testing.T, br *browser, tok *tokens)
		}{
			{"logout", func(t *testing.T, br *browser, tok *tokens) {
				fx.endSession(br, url.Values{"id_token_hint": {tok.rawIDToken()}, "post_logout_redirect_uri": {postLogoutA}})
			}},
			{"forced logout", func(t *testing.T, _ *browser, _ *tokens) { revokeSessions(t, store, "alice") }},
			{"user disabled", func(t *testing.T, _ *browser, _ *tokens) {
				u, err := store.GetUserByUsername(t.Context(), "alice")
				if err == nil {
					_, err = store.UpdateUser(t.Context(), u.ID, func(u *storage.User) error { u.Disabled = true; return nil })
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { // t.Context() has ended when cleanups run
					if _, err := store.UpdateUser(context.Background(), u.ID, func(u *storage.User) error { u.Disabled = false; return nil }); err != nil {
						t.Error(err)
					}
				})
			}},
		} {
			t.Run("before the exchange: "+tc.name, func(t *testing.T) {
				lb := newBrowser(t, fx.p.URL)
				tok := fx.signIn(t, lb, fx.a)
				lsid, _ := tok.claims["sid"].(string)
				f := fx.b.start()
				code := fx.sealedCodeFor(t, lb, fx.b, f)
				tc.end(t, lb, tok)
				if _, err := fx.b.exchange(code, f); grantError(err) != "invalid_grant" {
					t.Fatalf("exchange after %s: %v, want invalid_grant", tc.name, err)
				}
				clients, err := store.ListSessionClients(t.Context(), lsid)
				if err != nil || slices.Contains(clients, "app-b") {
					t.Fatalf("session clients %v (%v): app-b recorded without tokens", clients, err)
				}
			})
			// A stored code (the sign-in page's, here forced by
			// prompt=login) outlives its session's logout in the store
			// (the session is marked revoked, the request stays): the
			// exchange must refuse it all the same.
			t.Run("stored code, before the exchange: "+tc.name, func(t *testing.T) {
				lb := newBrowser(t, fx.p.URL)
				tok := fx.signIn(t, lb, fx.a)
				f := fx.b.start()
				f.URL += "&prompt=login"
				code := fx.storedCodeFor(t, lb, fx.b, f)
				tc.end(t, lb, tok)
				if _, err := fx.b.exchange(code, f); grantError(err) != "invalid_grant" {
					t.Fatalf("exchange of a stored code after %s: %v, want invalid_grant", tc.name, err)
				}
			})
		}
	})
}

// TestSealedCodeFallsBack: a request whose sealed code would exceed
// pending.MaxCodeLen (here: a long registered redirect URI) gets a stored
// code, as before, which works.
func TestSealedCodeFallsBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		long := "https://app-c.example/" + strings.Repeat("c", pending.MaxCodeLen)
		secret := fx.p.addClient(t, storage.Client{ID: "app-c", Name: "App C", RedirectURIs: []string{long}})
		c := newRP(t, fx.p.URL, "app-c", secret, long)
		br := newBrowser(t, fx.p.URL)
		fx.signIn(t, br, fx.a)
		f := c.start()
		code := fx.codeFor(t, br, c, f)
		if pending.IsSealedCode(code) {
			t.Fatalf("a %d-byte code was sealed", len(code))
		}
		if _, err := c.exchange(code, f); err != nil {
			t.Fatalf("exchange of the stored code: %v", err)
		}
		if _, err := c.exchange(code, f); grantError(err) != "invalid_grant" {
			t.Fatalf("replay of the stored code: %v, want invalid_grant", err)
		}
	})
}

// flipChar returns another base64url character than b.
func flipChar(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}
