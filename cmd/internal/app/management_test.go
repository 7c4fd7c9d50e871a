package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
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

// metricValue returns the value of series in a Prometheus exposition, or
// -1 when it is absent.
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
