package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// ssoFixture is a provider with one user and two confidential clients
// whose redirect URIs live on two different hosts.
type ssoFixture struct {
	p      *testProvider
	a, b   *rp
	secret map[string]string
}

const (
	alicePassword = "correct horse battery staple, alice"
	redirectA     = "https://app-a.example/callback"
	redirectB     = "https://app-b.example.net/callback"
)

func newSSOFixture(t *testing.T, store storage.Store) *ssoFixture {
	p := newTestServer(t, withStore(store))
	p.addUser(t, "alice", alicePassword)
	sa := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}})
	sb := p.addClient(t, storage.Client{ID: "app-b", Name: "App B", RedirectURIs: []string{redirectB}})
	return &ssoFixture{p: p,
		a: newRP(t, p.URL, "app-a", sa, redirectA), b: newRP(t, p.URL, "app-b", sb, redirectB),
		secret: map[string]string{"app-a": sa, "app-b": sb}}
}

// signIn runs an authorization request that must show the login form, signs
// in as alice, and returns the verified tokens.
func (fx *ssoFixture) signIn(t *testing.T, br *browser, r *rp, opts ...oauth2.AuthCodeOption) *tokens {
	t.Helper()
	f := r.start(opts...)
	page, body := br.visit(f.URL)
	if page.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("want the login form, got %d at %s", page.StatusCode, page.Request.URL)
	}
	resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
	q := r.callbackParams(resp, f, fx.p.URL)
	tok, err := r.exchange(q.Get("code"), f)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// silent runs an authorization request that must not show any page.
func (fx *ssoFixture) silent(t *testing.T, br *browser, r *rp, opts ...oauth2.AuthCodeOption) *tokens {
	t.Helper()
	f := r.start(opts...)
	pagesBefore := len(br.pages)
	resp, _ := br.visit(f.URL)
	if len(br.pages) != pagesBefore {
		t.Fatalf("a page was shown: %v", br.pages[pagesBefore:])
	}
	q := r.callbackParams(resp, f, fx.p.URL)
	tok, err := r.exchange(q.Get("code"), f)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// TestSingleSignOnAcrossDomains is issue #2's "must show" 1: client A signs
// in with a password; client B, on another host, then gets its code and
// tokens without any login form; both ID tokens verify against the JWKS
// and share the session id.
func TestSingleSignOnAcrossDomains(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		br := newBrowser(t, fx.p.URL)
		ta := fx.signIn(t, br, fx.a)
		tb := fx.silent(t, br, fx.b)

		if ta.idToken.Subject != tb.idToken.Subject {
			t.Errorf("sub differs: %s vs %s", ta.idToken.Subject, tb.idToken.Subject)
		}
		if ta.claims["sid"] == nil || ta.claims["sid"] != tb.claims["sid"] {
			t.Errorf("sid: A %v, B %v; want equal and present", ta.claims["sid"], tb.claims["sid"])
		}
		if ta.claims["auth_time"] != tb.claims["auth_time"] {
			t.Errorf("auth_time changed without a new sign-in: %v vs %v", ta.claims["auth_time"], tb.claims["auth_time"])
		}
		if got := tb.idToken.Audience; len(got) != 1 || got[0] != "app-b" {
			t.Errorf("B's aud = %v", got)
		}
		if ta.claims["email"] != "alice@example.com" || ta.claims["name"] != "Alice" {
			t.Errorf("profile/email claims missing: %v", ta.claims)
		}
		// The session records both clients, so logout can reach them.
		clients, err := store.ListSessionClients(t.Context(), ta.claims["sid"].(string))
		if err != nil || len(clients) != 2 {
			t.Errorf("session clients = %v, %v; want app-a and app-b", clients, err)
		}
		// UserInfo answers with the same subject and the scoped claims.
		ui, err := fx.b.userinfo(tb.token.AccessToken)
		if err != nil || ui["sub"] != tb.idToken.Subject || ui["email"] != "alice@example.com" {
			t.Errorf("userinfo = %v, %v", ui, err)
		}
	})
}

// TestPromptAndMaxAge is "must show" 2.
func TestPromptAndMaxAge(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		br := newBrowser(t, fx.p.URL)

		t.Run("prompt=none without session", func(t *testing.T) {
			f := fx.a.start(oauth2.SetAuthURLParam("prompt", "none"))
			resp, _ := br.visit(f.URL)
			q := fx.a.callbackParams(resp, f, fx.p.URL)
			if q.Get("error") != "login_required" || q.Get("code") != "" {
				t.Fatalf("got %v, want error=login_required", q)
			}
			if len(br.pages) != 0 {
				t.Fatalf("prompt=none showed pages %v", br.pages)
			}
		})

		first := fx.signIn(t, br, fx.a)
		t0 := first.claims["auth_time"].(float64)

		t.Run("prompt=none with session", func(t *testing.T) {
			tok := fx.silent(t, br, fx.a, oauth2.SetAuthURLParam("prompt", "none"))
			if tok.claims["auth_time"].(float64) != t0 {
				t.Fatalf("auth_time changed")
			}
		})
		t.Run("max_age not exceeded", func(t *testing.T) {
			fx.p.Clock.Advance(5 * time.Second)
			tok := fx.silent(t, br, fx.b, oauth2.SetAuthURLParam("max_age", "10000"))
			if tok.claims["auth_time"].(float64) != t0 {
				t.Fatalf("auth_time = %v, want %v", tok.claims["auth_time"], t0)
			}
		})
		for _, tc := range []struct{ name, key, value string }{
			{"prompt=login", "prompt", "login"},
			{"max_age=0", "max_age", "0"},
			{"max_age exceeded", "max_age", "1"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fx.p.Clock.Advance(3 * time.Second)
				before := newestAuthTime(br, fx)
				tok := fx.signIn(t, br, fx.b, oauth2.SetAuthURLParam(tc.key, tc.value))
				at := tok.claims["auth_time"].(float64)
				if at <= before {
					t.Fatalf("auth_time %v not newer than %v", at, before)
				}
				if at != float64(fx.p.Clock.Now().Unix()) {
					t.Fatalf("auth_time %v, want the new sign-in time %v", at, fx.p.Clock.Now().Unix())
				}
			})
		}
	})
}

// newestAuthTime is the auth_time of the last sign-in, via a silent request.
func newestAuthTime(br *browser, fx *ssoFixture) float64 {
	return fx.silent(br.t, br, fx.a).claims["auth_time"].(float64)
}

// userinfo calls the UserInfo endpoint (found through discovery) with the
// access token and returns its claims.
func (r *rp) userinfo(accessToken string) (map[string]any, error) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"})
	info, err := r.provider.UserInfo(r.ctx, ts)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, info.Claims(&out)
}
