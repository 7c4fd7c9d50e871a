package app

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestRouteLabels: every route label has one form, the mux pattern's
// path without a method (issue #13 item 15).
func TestRouteLabels(t *testing.T) {
	for _, tc := range []struct{ name, pattern, want string }{
		{"method-and-path", "GET /login", "/login"},
		{"post", "POST /login", "/login"},
		{"path-only", "/token", "/token"},
		{"wildcards", "GET /admin/clients/{id}", "/admin/clients/{id}"},
		{"exact-root", "GET /{$}", "/{$}"},
		{"tab-after-method", "GET\t/x", "/x"},
		{"nothing-matched", "", "unmatched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := routeLabel(tc.pattern); got != tc.want {
				t.Fatalf("routeLabel(%q) = %q, want %q", tc.pattern, got, tc.want)
			}
		})
	}

	// Through the middleware, with patterns registered both ways.
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {}
	mux.HandleFunc("GET /login", ok)
	mux.HandleFunc("POST /login", ok)
	mux.HandleFunc("/token", ok)
	// The mux served bare (the middleware routes each request again) and
	// through routed (the pattern the mux matched is reused; the
	// middleware asks only when nothing matched): the same labels.
	for _, tc := range []struct {
		name   string
		next   http.Handler
		lookup int // route calls expected
	}{
		{"mux", mux, 4},
		{"routed", routed(mux), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetrics(nil)
			lookups := 0
			h := m.middleware(tc.next, func(r *http.Request) string { lookups++; _, p := mux.Handler(r); return p })
			for _, req := range []*http.Request{
				httptest.NewRequest(http.MethodGet, "/login", nil),
				httptest.NewRequest(http.MethodPost, "/login", nil),
				httptest.NewRequest(http.MethodPost, "/token", nil),
				httptest.NewRequest(http.MethodGet, "/nowhere", nil),
			} {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
			text := m.expose()
			for _, want := range []string{
				`monban_http_requests_total{code="200",route="/login"} 2`,
				`monban_http_requests_total{code="200",route="/token"} 1`,
				`monban_http_requests_total{code="404",route="unmatched"} 1`,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("metrics lack %s\n%s", want, text)
				}
			}
			if bad := regexp.MustCompile(`route="[A-Z]+ `).FindString(text); bad != "" {
				t.Errorf("a route label names a method: %s", bad)
			}
			if lookups != tc.lookup {
				t.Errorf("the middleware routed %d requests again, want %d", lookups, tc.lookup)
			}
		})
	}
}

// TestBuildInfoMetric: /metrics says which build runs.
func TestBuildInfoMetric(t *testing.T) {
	b := Build()
	want := `monban_build_info{commit="` + b.Commit + `",goversion="` + b.GoVersion + `",version="` + b.Version + `"} 1`
	if text := newMetrics(nil).expose(); !strings.Contains(text, want) {
		t.Fatalf("metrics lack %s\n%s", want, text)
	}
}
