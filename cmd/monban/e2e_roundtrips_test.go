package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestPostgresRoundTrips counts the PostgreSQL round trips of the token
// endpoint's grants with a pgx tracer (postgres.RoundTripCounter), once
// the connection's statement cache is warm, and checks them against a
// budget (issue 8: at most 3 each; issue #21 brought them to one each).
// Authorize with a live session 1 (GetSessionWithUserActive, one statement; the
// code carries the request sealed, so nothing is written; the session
// touch is at most once a minute, the client cached). Code exchange 1
// (RedeemSealedCode: the code's tombstone, the session's liveness, its
// user and the first refresh token in one statement; the client comes
// from the provider's cache); refresh 1 (RotateRefreshGrant, one
// statement); client_credentials 0.
func TestPostgresRoundTrips(t *testing.T) {
	counter := &postgres.RoundTripCounter{}
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithTracer(counter))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	fx := newSSOFixture(t, st)
	machineSecret := fx.p.addClient(t, storage.Client{ID: "machine", Name: "Machine",
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
	br := newBrowser(t, fx.p.URL)
	fx.signIn(t, br, fx.a) // a session, and warm statement caches

	type grants struct{ authorize, code, refresh, clientCredentials int64 }
	measure := func(t *testing.T) grants {
		t.Helper()
		var g grants
		f := fx.a.start()
		counter.Reset()
		resp, _ := br.visit(f.URL)
		g.authorize = counter.RoundTrips()
		q := fx.a.callbackParams(resp, f, fx.p.URL)
		counter.Reset()
		resp, body := fx.p.post(t, "/token", "app-a", fx.secret["app-a"], url.Values{
			"grant_type": {"authorization_code"}, "code": {q.Get("code")},
			"redirect_uri": {redirectA}, "code_verifier": {f.verifier},
		})
		g.code = counter.RoundTrips()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("code exchange: %d %s", resp.StatusCode, body)
		}
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.RefreshToken == "" {
			t.Fatalf("no refresh token in %s", body)
		}
		counter.Reset()
		resp, body = fx.p.post(t, "/token", "app-a", fx.secret["app-a"], url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		})
		g.refresh = counter.RoundTrips()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.StatusCode, body)
		}
		counter.Reset()
		resp, body = fx.p.post(t, "/token", "machine", machineSecret, url.Values{
			"grant_type": {"client_credentials"}, "scope": {"api"},
		})
		g.clientCredentials = counter.RoundTrips()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client_credentials: %d %s", resp.StatusCode, body)
		}
		return g
	}
	measure(t) // warm every statement on the pool's connections
	got := measure(t)
	t.Logf("round trips: authorize %d, code exchange %d, refresh %d, client_credentials %d",
		got.authorize, got.code, got.refresh, got.clientCredentials)
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{name: "authorize with a session", got: got.authorize, want: 1},
		{name: "code exchange", got: got.code, want: 1},
		{name: "refresh", got: got.refresh, want: 1},
		{name: "client_credentials", got: got.clientCredentials, want: 0}, // client cached, nothing stored
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got > tc.want {
				t.Errorf("%d round trips, want at most %d", tc.got, tc.want)
			}
		})
	}
}
