package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
	"github.com/monban-idp/monban/storage/storagetest"
)

// unreachableStore is a memory store whose database does not answer.
type unreachableStore struct{ *memory.Store }

func (unreachableStore) Ping(context.Context) error { return errors.New("connection refused") }

// get serves one GET request on h and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestManagementEndpoints covers /healthz and each readiness check of
// /readyz, including 503 once shutdown starts (checklist R7).
func TestManagementEndpoints(t *testing.T) {
	ready := func() bool { return true }
	current := func(context.Context) (int, error) { return 0, nil }
	for _, tc := range []struct {
		name       string
		m          *management
		drain      bool
		wantStatus int
		wantBody   string
	}{
		{name: "ready", m: &management{store: memory.New(), keysReady: ready, pending: current},
			wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "dev-without-schema", m: &management{store: memory.New(), keysReady: ready},
			wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "database-unreachable", m: &management{store: unreachableStore{memory.New()}, keysReady: ready, pending: current},
			wantStatus: http.StatusServiceUnavailable, wantBody: "database: connection refused"},
		{name: "keys-not-loaded", m: &management{store: memory.New(), keysReady: func() bool { return false }, pending: current},
			wantStatus: http.StatusServiceUnavailable, wantBody: "signing keys: not loaded"},
		{name: "migrations-pending", m: &management{store: memory.New(), keysReady: ready,
			pending: func(context.Context) (int, error) { return 2, nil }},
			wantStatus: http.StatusServiceUnavailable, wantBody: "migrations: 2 pending"},
		{name: "migrations-unknown", m: &management{store: memory.New(), keysReady: ready,
			pending: func(context.Context) (int, error) { return 0, errors.New("timeout") }},
			wantStatus: http.StatusServiceUnavailable, wantBody: "migrations: timeout"},
		{name: "R7/draining", m: &management{store: memory.New(), keysReady: ready, pending: current}, drain: true,
			wantStatus: http.StatusServiceUnavailable, wantBody: "shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.m.handler()
			if tc.drain {
				tc.m.drain()
			}
			if code, body := get(t, h, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
				t.Errorf("/healthz = %d %q, want 200 ok (live even when not ready)", code, body)
			}
			code, body := get(t, h, "/readyz")
			if code != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("/readyz = %d %q, want %d containing %q", code, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// TestManagementPprof: the profiler is on the management listener only
// when configured.
func TestManagementPprof(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pprof bool
		want  int
	}{
		{"off-by-default", false, http.StatusNotFound},
		{"on", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &management{store: memory.New(), pprof: tc.pprof}
			if code, _ := get(t, m.handler(), "/debug/pprof/"); code != tc.want {
				t.Fatalf("/debug/pprof/ = %d, want %d", code, tc.want)
			}
		})
	}
	c, err := loadArgs(t, nil, map[string]string{"MONBAN_PPROF": "true"})
	if err != nil || !c.Pprof {
		t.Fatalf("MONBAN_PPROF=true: %v, pprof %v", err, c != nil && c.Pprof)
	}
}

// TestReadyzMigrationsChecksOnce: once the schema was current the check is
// not repeated (migrations are forward-only), so probes cost one ping.
func TestReadyzMigrationsChecksOnce(t *testing.T) {
	calls := 0
	m := &management{store: memory.New(), pending: func(context.Context) (int, error) { calls++; return 0, nil }}
	for range 3 {
		if code, body := get(t, m.handler(), "/readyz"); code != http.StatusOK {
			t.Fatalf("/readyz = %d %q", code, body)
		}
	}
	if calls != 1 {
		t.Fatalf("pending called %d times, want 1", calls)
	}
}

// TestReadyzOnPostgres runs the real checks: a database without monban's
// schema is not ready, a migrated one is.
func TestReadyzOnPostgres(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dsn        func(tb testing.TB) string
		wantStatus int
		wantBody   string
	}{
		{name: "empty-database", dsn: pgtest.NewEmptyDatabase, wantStatus: http.StatusServiceUnavailable, wantBody: "pending"},
		{name: "migrated", dsn: pgtest.NewDatabase, wantStatus: http.StatusOK, wantBody: "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			st, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(st.Close)
			m := &management{store: st, keysReady: func() bool { return true }, metrics: newMetrics(st.PoolStats),
				pending: func(ctx context.Context) (int, error) { return migrations.Pending(ctx, dsn) }}
			if code, body := get(t, m.handler(), "/readyz"); code != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("/readyz = %d %q, want %d containing %q", code, body, tc.wantStatus, tc.wantBody)
			}
			if _, body := get(t, m.handler(), "/metrics"); metricValue(t, body, "monban_db_pool_max_connections") < 1 {
				t.Fatalf("no pool size in /metrics:\n%s", body)
			}
		})
	}
}

// startProviderWithMetrics runs the composed application with metrics, as
// serve does, and returns the provider and its metrics.
func startProviderWithMetrics(t *testing.T, store storage.Store) (*testProvider, *metrics) {
	t.Helper()
	m := newMetrics(nil)
	if pg, ok := store.(*postgres.Store); ok {
		m = newMetrics(pg.PoolStats)
	}
	srv := httptest.NewUnstartedServer(nil)
	clock := storagetest.NewClock(time.Now().UTC().Truncate(time.Second))
	kek := op.RandomKeyEncryptionKeys()
	issuer := "http://" + srv.Listener.Addr().String()
	a, err := buildApp(t.Context(), appConfig{
		Issuer: issuer, Store: store, KEK: kek, Now: clock.Now,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hasher:  password.NewHasher(testHashParams, 4),
		Metrics: m,
		// Test relying parties listen on 127.0.0.1.
		AllowPrivateBackchannel: true,
	})
	if err != nil {
		t.Fatalf("buildApp: %v", err)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return &testProvider{URL: issuer, Store: store, Clock: clock, KEK: kek, Worker: a.Worker, srv: srv}, m
}

// metricValue returns the value of the sample series (name with labels,
// exactly as exposed), or -1 when it is absent.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(exposition)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// TestMetricsMoveWithFlows drives a failed and a successful sign-in, a
// code exchange, a refresh and a refresh-token reuse, then scrapes
// /metrics: every counter moved, and requests are labelled by route
// pattern, never by raw path.
func TestMetricsMoveWithFlows(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p, m := startProviderWithMetrics(t, store)
		p.addUser(t, "alice", alicePassword)
		// Nothing listens at the back-channel URI, and the worker does not
		// run here: the logout below leaves one delivery pending.
		secret := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA},
			BackchannelLogoutURI: "http://127.0.0.1:9/backchannel"})
		r := newRP(t, p.URL, "app-a", secret, redirectA, "openid", "offline_access")
		fx := &ssoFixture{p: p, a: r}
		br := newBrowser(t, p.URL)

		f := r.start()
		page, body := br.visit(f.URL)
		if resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": "wrong"}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
		tok := fx.signIn(t, br, r)
		refreshed, err := r.oauth.TokenSource(r.ctx, tok.token).Token() // still valid: no refresh
		if err != nil || refreshed.AccessToken != tok.token.AccessToken {
			t.Fatalf("token source: %v", err)
		}
		stale := *tok.token
		stale.Expiry = time.Now().Add(-time.Hour)
		next, err := r.oauth.TokenSource(r.ctx, &stale).Token()
		if err != nil || next.RefreshToken == tok.token.RefreshToken {
			t.Fatalf("refresh: %v", err)
		}
		if _, err := r.oauth.TokenSource(r.ctx, &stale).Token(); err == nil {
			t.Fatal("reusing the rotated refresh token succeeded")
		}
		_, _ = br.visit(p.URL + "/no/such/path/" + randomString())
		if resp, _ := br.visit(p.URL + "/end_session?" + url.Values{"id_token_hint": {tok.token.Extra("id_token").(string)},
			"client_id": {"app-a"}}.Encode()); resp.StatusCode != http.StatusOK {
			t.Fatalf("logout: %d", resp.StatusCode)
		}

		mgmt := &management{store: store, metrics: m}
		code, exposition := get(t, mgmt.handler(), "/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d", code)
		}
		for _, tc := range []struct {
			name   string
			series string
			want   float64
		}{
			{"sign-in-ok", `monban_sign_ins_total{result="ok"}`, 1},
			{"sign-in-failed", `monban_sign_ins_total{result="failed"}`, 1},
			{"code-exchange", `monban_tokens_issued_total{grant_type="authorization_code"}`, 1},
			{"refresh", `monban_tokens_issued_total{grant_type="refresh_token"}`, 1},
			{"refresh-reuse", `monban_refresh_token_reuse_total`, 1},
			{"token-requests-by-route", `monban_http_requests_total{code="200",route="/token"}`, 2},
			{"token-refused", `monban_http_requests_total{code="400",route="/token"}`, 1},
			{"login-posts", `monban_http_requests_total{code="401",route="POST /login"}`, 1},
			{"unmatched-paths-share-a-label", `monban_http_requests_total{code="404",route="unmatched"}`, 1},
			{"latency", `monban_http_request_duration_seconds_count{route="/token"}`, 3},
			{"deliveries-listed-at-zero", `monban_logout_deliveries_total{outcome="failed"}`, 0},
			{"logout-delivery-pending", `monban_logout_deliveries_pending`, 1},
			{"logout-deliveries-failed-listed", `monban_logout_deliveries_failed`, 0},
			{"go-collector", `go_goroutines`, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := metricValue(t, exposition, tc.series); got < tc.want {
					t.Errorf("%s = %v, want at least %v\n%s", tc.series, got, tc.want, exposition)
				}
			})
		}
		if strings.Contains(exposition, "/no/such/path") {
			t.Error("a raw path became a label value")
		}
		if _, isPG := store.(*postgres.Store); isPG && metricValue(t, exposition, "monban_db_pool_acquires_total") < 1 {
			t.Error("no PostgreSQL pool statistics")
		}
	})
}

// TestServeManagementListener: `monban serve` answers /healthz, /readyz
// and /metrics on its management port, apart from the provider's.
func TestServeManagementListener(t *testing.T) {
	mgmt := freeAddr(t)
	issuer, _ := startServe(t, nil, "--dev", "--management-listen", mgmt)
	for _, tc := range []struct {
		name, path string
		want       string
	}{
		{"healthz", "/healthz", "ok"},
		{"readyz", "/readyz", "ok"},
		{"metrics", "/metrics", "# TYPE monban_http_requests_total counter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + mgmt + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Fatalf("GET %s = %d %q, want 200 containing %q", tc.path, resp.StatusCode, body, tc.want)
			}
			resp, err = http.Get(issuer + tc.path) // not on the public port
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s on the provider's port = %d, want 404", tc.path, resp.StatusCode)
			}
		})
	}
}

// TestMetricsLogoutDeliveries: back-channel logout attempts are counted by
// outcome as the worker makes them.
func TestMetricsLogoutDeliveries(t *testing.T) {
	rcv := newReceiver(t)
	p, m := startProviderWithMetrics(t, memory.New())
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	br := newBrowser(t, p.URL)
	a, _ := fx.ssoBoth(t, br)
	rcv.answer("app-b", http.StatusFound)
	fx.logoutA(t, br, a)
	step(t, p, 1, 1)
	exposition := m.expose()
	for _, tc := range []struct {
		name   string
		series string
		want   float64
	}{
		{"delivered", `monban_logout_deliveries_total{outcome="delivered"}`, 1},
		{"retry", `monban_logout_deliveries_total{outcome="retry"}`, 1},
		{"failed", `monban_logout_deliveries_total{outcome="failed"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricValue(t, exposition, tc.series); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.series, got, tc.want)
			}
		})
	}
}
