package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// TestUnauthenticatedAuthorizeStoresNothing is issue #13 item 7b: an
// /authorize that needs a sign-in sends the browser to the sign-in page
// with the request sealed (storage/pending) instead of storing it, so 200
// such requests leave no auth request in the store; signing in to one of
// them stores it and yields a code the client redeems. A sealed value is
// stored at most once while that request lives, and a tampered one gets
// the readable "expired or invalid" page.
func TestUnauthenticatedAuthorizeStoresNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		alice := p.addUser(t, "alice", alicePassword)
		secret := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}})
		app := newRP(t, p.URL, "app-a", secret, redirectA)

		const n = 200
		flows := make([]*flow, n)
		signInURLs := make([]string, n)
		for i := range flows {
			flows[i] = app.start()
			resp, body := fetchNoRedirect(t, flows[i].URL)
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil || loc.Path != "/login" {
				t.Fatalf("request %d: %d to %q, want a redirect to the sign-in page\n%.300s", i, resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if id := loc.Query().Get("id"); !pending.IsSealed(id) {
				t.Fatalf("request %d: sign-in id %q is not a sealed request", i, id)
			}
			signInURLs[i] = p.URL + loc.String()
		}
		if got := countAuthRequests(t, store); got != 0 {
			t.Fatalf("%d unauthenticated /authorize requests stored %d auth requests, want none", n, got)
		}
		t.Logf("typical sign-in URL: %d bytes", len(signInURLs[0]))

		// Alice signs in to one of them (her browser followed its redirect).
		pick := flows[n/2]
		br := newBrowser(t, p.URL)
		page, body := br.visit(signInURLs[n/2])
		if page.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
			t.Fatalf("sign-in page: %d\n%.300s", page.StatusCode, body)
		}
		resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		code := app.callbackParams(resp, pick, p.URL).Get("code")

		// The same sealed value again, while its request lives (code not
		// yet redeemed): no second request, no second code.
		again := newBrowser(t, p.URL)
		page2, body2 := again.visit(signInURLs[n/2])
		resp2, body2 := again.submit(page2, body2, map[string]string{"username": "alice", "password": alicePassword})
		if resp2.StatusCode != http.StatusBadRequest || !strings.Contains(body2, "already") {
			t.Fatalf("second sign-in with one sealed request: %d %s\n%.300s", resp2.StatusCode, resp2.Header.Get("Location"), body2)
		}

		tok, err := app.exchange(code, pick)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.claims["sub"] != alice.ID {
			t.Fatalf("sub = %v, want %s", tok.claims["sub"], alice.ID)
		}

		// Tampered, foreign-version and truncated values: the readable page.
		sealed := mustQuery(t, signInURLs[0], "id")
		flipped := []byte(sealed)
		flipped[len(flipped)/2] ^= 1
		for name, id := range map[string]string{
			"tampered":  string(flipped),
			"version":   "p9." + sealed[len(pending.Prefix):],
			"truncated": sealed[:len(sealed)/2],
			"oversize":  pending.Prefix + strings.Repeat("A", pending.MaxSealedLen),
		} {
			t.Run(name, func(t *testing.T) {
				resp, body := fetchNoRedirect(t, p.URL+"/login?id="+url.QueryEscape(id))
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or is invalid") {
					t.Fatalf("GET /login with a %s sealed id: %d, want 400 and the expired page\n%.300s", name, resp.StatusCode, body)
				}
			})
		}
	})
}

// countAuthRequests counts the auth requests (and code tombstones) in
// store through the janitor's own statement, with a cut-off far in the
// future so that every row counts. It deletes what it counts: call it
// only where a test expects none, or is done with them.
func countAuthRequests(t *testing.T, store storage.Store) int {
	t.Helper()
	total := 0
	for {
		n, err := store.DeleteExpiredAuthRequests(t.Context(), time.Now().AddDate(10, 0, 0), 1000)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 1000 {
			return total
		}
	}
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
