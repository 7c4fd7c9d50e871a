package main

import (
	"github.com/monban-idp/monban/cmd/internal/app"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// benchApp is the composed handler on the memory store with a user, a
// confidential client and a live SSO session whose cookie is known.
type benchApp struct {
	h            http.Handler
	store        storage.Store
	cookie       *http.Cookie
	clientSecret string
}

func newBenchApp(b testing.TB, idTokenAlg string) *benchApp {
	return newBenchAppOn(b, memory.New(), idTokenAlg)
}

// newBenchAppOn is newBenchApp on the given store.
func newBenchAppOn(b testing.TB, store storage.Store, idTokenAlg string) *benchApp {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	// Production password hashing: the server as it runs.
	h := newTestServer(b, withStore(store), withIssuer("http://localhost:8080"), withConfig(func(c *app.Config) {
		c.Hasher = app.NewHasher()
	})).App.Handler()
	u := &storage.User{ID: storage.NewID(), Username: "alice", CreatedAt: now, UpdatedAt: now}
	secret := storage.NewToken()
	c := &storage.Client{ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		SecretHash: storage.HashToken(secret), RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"}, CreatedAt: now, UpdatedAt: now,
		IDTokenSigningAlg: idTokenAlg}
	token := storage.NewToken()
	s := &storage.Session{ID: storage.NewID(), TokenHash: storage.HashToken(token), UserID: u.ID, AuthTime: now,
		AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	for _, err := range []error{store.CreateUser(ctx, u), store.CreateClient(ctx, c), store.CreateSession(ctx, s)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return &benchApp{h: h, store: store, cookie: &http.Cookie{Name: "monban_session", Value: token}, clientSecret: secret}
}

// BenchmarkSSOCodeFlow measures one sign-in for a browser that already has
// an SSO session: authorize (with PKCE) → code → token exchange, with an
// ES256 JWT access token and an ID token of each algorithm, served
// in-process.
func BenchmarkSSOCodeFlow(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) { benchmarkSSOCodeFlow(b, alg) })
	}
}

func benchmarkSSOCodeFlow(b *testing.B, idTokenAlg string) {
	app := newBenchApp(b, idTokenAlg)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		app.signIn(b)
	}
}

// BenchmarkIntrospection measures RFC 7662 introspection of a live JWT
// access token by its client: client authentication, signature check and
// the liveness read (memory store).
func BenchmarkIntrospection(b *testing.B) { benchmarkIntrospection(b, newBenchApp(b, "ES256")) }

// BenchmarkIntrospectionPostgres is BenchmarkIntrospection on PostgreSQL
// (pgtest): the liveness read is one round trip, so the pgx client side
// (pool, statement, deadline) is in the CPU per op.
func BenchmarkIntrospectionPostgres(b *testing.B) {
	store, err := postgres.Open(context.Background(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	benchmarkIntrospection(b, newBenchAppOn(b, store, "ES256"))
}

func benchmarkIntrospection(b *testing.B, app *benchApp) {
	form := url.Values{"token": {app.signIn(b)}}.Encode()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		// A cancellable context, as net/http gives every request (pgx
		// watches one with a goroutine per statement).
		req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/introspect", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", app.clientSecret)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
			b.Fatalf("introspect: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkUserinfo measures one UserInfo request (OIDC Core §5.3) with a
// live JWT access token as a bearer token (memory store).
func BenchmarkUserinfo(b *testing.B) {
	app := newBenchApp(b, "ES256")
	bearer := "Bearer " + app.signIn(b)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, op.PathUserinfo, nil)
		req.Header.Set("Authorization", bearer)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"sub"`) {
			b.Fatalf("userinfo: %d %s", rec.Code, rec.Body)
		}
	}
}

// signIn runs one SSO code flow and returns the access token.
func (app *benchApp) signIn(b testing.TB) string { return app.signInTokens(b).AccessToken }

// benchTokens is what the token endpoint answered.
type benchTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// signInTokens runs one SSO code flow and returns the tokens.
func (app *benchApp) signInTokens(b testing.TB) benchTokens {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"openid profile"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	authorizeURL := "/authorize?" + q.Encode()
	{
		req := httptest.NewRequest(http.MethodGet, authorizeURL, nil)
		req.AddCookie(app.cookie)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			b.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
		req = httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", app.clientSecret)
		rec = httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
		var tok benchTokens
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
			b.Fatal(err)
		}
		return tok
	}
}

// BenchmarkDiscovery and BenchmarkJWKS measure the precomputed metadata.
func BenchmarkDiscovery(b *testing.B) { benchmarkGET(b, op.PathDiscovery) }

// BenchmarkJWKS measures serving the public key set.
func BenchmarkJWKS(b *testing.B) { benchmarkGET(b, op.PathJWKS) }

func benchmarkGET(b *testing.B, path string) {
	app := newBenchApp(b, "")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, rec.Code)
		}
	}
}
