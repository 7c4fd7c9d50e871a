package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// tripLog counts the store's round trips (postgres.RoundTripCounter) and
// keeps each statement's SQL, so that a failure names what was sent.
type tripLog struct {
	postgres.RoundTripCounter
	mu  sync.Mutex
	sql []string
}

func (l *tripLog) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	l.sql = append(l.sql, d.SQL)
	l.mu.Unlock()
	return l.RoundTripCounter.TraceQueryStart(ctx, c, d)
}

func (l *tripLog) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	l.mu.Lock()
	l.sql = append(l.sql, "  (batched) "+d.SQL)
	l.mu.Unlock()
}

// take returns the round trips and statements since the last take.
func (l *tripLog) take() (int64, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, sql := l.RoundTrips(), l.sql
	l.Reset()
	l.sql = nil
	return n, sql
}

// TestRoundTripsPerFlow (issue #21) pins the PostgreSQL round trips of the
// two hot flows, once the statement cache is warm: an SSO code flow for a
// browser with a live session (GET /authorize → code → POST /token) and a
// rotating refresh grant (RFC 6749 §6). A new statement on either path
// must be a deliberate change to these numbers.
func TestRoundTripsPerFlow(t *testing.T) {
	log := &tripLog{}
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithTracer(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	app := newBenchAppOn(t, st, "ES256")
	if _, err := st.UpdateClient(t.Context(), "app", func(c *storage.Client) error {
		c.GrantTypes = append(c.GrantTypes, "refresh_token")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) string {
		req := httptest.NewRequest(http.MethodPost, "/token",
			strings.NewReader("grant_type=refresh_token&refresh_token="+url.QueryEscape(rt)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", app.clientSecret)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
		}
		var tok benchTokens
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
			t.Fatal(err)
		}
		return tok.RefreshToken
	}
	// Warm the pool's connections' statement caches and the client cache.
	var rt string
	for range 20 {
		rt = refresh(app.signInTokens(t).RefreshToken)
	}
	for _, tc := range []struct {
		name       string
		run        func()
		want       int64
		statements int
	}{
		{name: "sso flow", run: func() { app.signInTokens(t) }, want: wantSSOTrips, statements: wantSSOStatements},
		{name: "refresh", run: func() { rt = refresh(rt) }, want: wantRefreshTrips, statements: wantRefreshStatements},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log.take()
			tc.run()
			n, sql := log.take()
			if n != tc.want || len(sql) != tc.statements {
				t.Errorf("%d round trips and %d statements, want %d and %d:\n%s", n, len(sql), tc.want, tc.statements,
					strings.Join(sql, "\n"))
			} else {
				t.Logf("%d round trips:\n%s", n, strings.Join(sql, "\n"))
			}
		})
	}
}

// The counts, warm (see BENCHMARKS.md, "Statements per flow").
//   - SSO: the session with its user (one statement, the user LEFT
//     JOINed); nothing
//     else at /authorize, whose code carries the request sealed
//     (pending.CodeSealer); RedeemSealedCode at /token (one statement,
//     the only commit: the code's tombstone, the session's liveness, its
//     user read, session_clients and the family's first refresh token).
//   - refresh: the rotation, one statement that checks the token, its
//     client, scopes, DPoP key, user, group rule and session and returns
//     the successor with the user (RotateRefreshGrant); a refused
//     request reads the grant and diagnoses it, as before.
const (
	wantSSOTrips          = 2
	wantSSOStatements     = 2
	wantRefreshTrips      = 1
	wantRefreshStatements = 1
)

// TestCodeExchangeSeesTheUserAsOfTheExchange: the user the token endpoint
// uses now comes with the consumed code (AuthRequest.User on PostgreSQL)
// instead of a read of its own; a user disabled or deleted between
// /authorize and the exchange is still refused (invalid_grant), on both
// stores.
func TestCodeExchangeSeesTheUserAsOfTheExchange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context, s storage.Store, id string) error
	}{
		{name: "disabled", change: func(ctx context.Context, s storage.Store, id string) error {
			_, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.Disabled = true; return nil })
			return err
		}},
		{name: "deleted", change: func(ctx context.Context, s storage.Store, id string) error { return s.DeleteUser(ctx, id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, st storage.Store) {
				app := newBenchAppOn(t, st, "ES256")
				verifier := oauth2.GenerateVerifier()
				q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/cb"},
					"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"},
					"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
				req := httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil)
				req.AddCookie(app.cookie)
				rec := httptest.NewRecorder()
				app.h.ServeHTTP(rec, req)
				loc, err := url.Parse(rec.Header().Get("Location"))
				if err != nil || loc.Query().Get("code") == "" {
					t.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
				}
				u, err := st.GetUserByUsername(t.Context(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				if err := tc.change(t.Context(), st, u.ID); err != nil {
					t.Fatal(err)
				}
				form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
					"redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
				req = httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("app", app.clientSecret)
				rec = httptest.NewRecorder()
				app.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"invalid_grant"`) {
					t.Fatalf("token for a %s user: %d %s, want 400 invalid_grant", tc.name, rec.Code, rec.Body)
				}
			})
		})
	}
}
