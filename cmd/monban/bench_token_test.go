package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres/pgproc"
)

// BenchmarkClientCredentials measures one client_credentials grant (RFC
// 6749 §4.4) in process: client authentication, the ES256 access token
// and the JSON answer (issue 21).
func BenchmarkClientCredentials(b *testing.B) {
	app := newBenchApp(b, "ES256")
	now := time.Now().UTC()
	secret := storage.NewToken()
	if err := app.store.CreateClient(b.Context(), &storage.Client{ID: "machine", Name: "Machine",
		AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb, SecretHash: storage.HashToken(secret),
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	const form = "grant_type=client_credentials&scope=api%3Aread"
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("machine", secret)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("token: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkRefresh measures one rotating refresh grant (RFC 6749 §6) in
// process on the memory store, by ID-token algorithm, and for a client
// without an ID token on refresh (OIDC Core §12.2). The memory store
// scans every refresh token to check a family, so the time per refresh
// grows with b.N: compare runs of the same -benchtime (e.g. 1000x).
func BenchmarkRefresh(b *testing.B) {
	for _, tc := range []struct {
		name, alg string
		omit      bool
	}{
		{"RS256", "RS256", false},
		{"ES256", "ES256", false},
		{"no-id-token", "RS256", true},
	} {
		b.Run(tc.name, func(b *testing.B) { benchmarkRefresh(b, tc.alg, tc.omit) })
	}
}

func benchmarkRefresh(b *testing.B, alg string, omit bool) {
	app := newBenchApp(b, alg)
	if _, err := app.store.UpdateClient(b.Context(), "app", func(c *storage.Client) error {
		c.GrantTypes = append(c.GrantTypes, "refresh_token")
		c.OmitRefreshIDToken = omit
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	rt := app.signInTokens(b).RefreshToken
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/token",
			strings.NewReader("grant_type=refresh_token&refresh_token="+url.QueryEscape(rt)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", app.clientSecret)
		rec := httptest.NewRecorder()
		app.h.ServeHTTP(rec, req)
		var tok benchTokens
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || (tok.IDToken == "") != omit {
			b.Fatalf("refresh: %d %s", rec.Code, rec.Body)
		}
		rt = tok.RefreshToken
	}
}

// reportCPU reports the process's CPU time (user + system, all threads)
// per iteration as cpu-ns/op, from getrusage: on a shared machine wall
// time per operation swings with the other tenants, CPU time much less.
// Call it after the set-up, deferring the function it returns.
func reportCPU(b *testing.B) func() {
	start := pgproc.Self()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((pgproc.Self()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
