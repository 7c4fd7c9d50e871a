package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// BenchmarkUnauthenticatedAuthorize measures /authorize for a browser
// without a session on PostgreSQL (issue #13 item 7b): what an
// unauthenticated client can make a replica do. It reports requests per
// second (in-process, parallel) and what each request left in the store:
// auth_requests rows, their bytes (pg_column_size of the rows) and the
// growth of the table on disk with its indexes and TOAST.
// "typical" is an Auth.js-like request; "large" has the longest state,
// nonce and login_hint the endpoint accepts.
func BenchmarkUnauthenticatedAuthorize(b *testing.B) {
	for _, tc := range []struct{ name, state, nonce, hint string }{
		{"typical", randomString() + randomString(), randomString() + randomString(), ""},
		{"large", randomText(2048), randomText(512), randomText(256)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			dsn := pgtest.NewDatabase(b)
			store, err := postgres.Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(store.Close)
			cfg := app.Defaults()
			cfg.Issuer, cfg.Store, cfg.KEK = "http://localhost:8080", store, keys.RandomKeyEncryptionKeys()
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := app.New(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() })
			h := a.Handler()
			now := time.Now().UTC()
			c := &storage.Client{ID: "app", Name: "App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
				SecretHash: storage.HashToken(storage.NewToken()), RedirectURIs: []string{"https://app.example/api/auth/callback/monban"},
				GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"}, CreatedAt: now, UpdatedAt: now}
			if err := store.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
			q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {c.RedirectURIs[0]},
				"scope": {"openid profile email"}, "state": {tc.state}, "nonce": {tc.nonce},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
			if tc.hint != "" {
				q.Set("login_hint", tc.hint)
			}
			target := "/authorize?" + q.Encode()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			var diskBefore, diskAfter int64
			const diskSize = `SELECT pg_total_relation_size('auth_requests')`
			if err := conn.QueryRow(ctx, diskSize).Scan(&diskBefore); err != nil {
				b.Fatal(err)
			}
			var locLen int
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
					if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/login?id=") {
						b.Fatalf("status %d to %q", w.Code, w.Header().Get("Location"))
					}
					locLen = len(w.Header().Get("Location"))
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			var rows, bytes int64
			if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(pg_column_size(a.*)), 0) FROM auth_requests a`).
				Scan(&rows, &bytes); err != nil {
				b.Fatal(err)
			}
			if err := conn.QueryRow(ctx, diskSize).Scan(&diskAfter); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(diskAfter-diskBefore)/float64(b.N), "disk-B/op")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
			b.ReportMetric(float64(bytes)/float64(b.N), "stored-B/op")
			b.ReportMetric(float64(locLen), "location-B")
		})
	}
}

// randomText returns n random base64url characters (incompressible, like
// a real state or nonce).
func randomText(n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(randomString())
	}
	return sb.String()[:n]
}
