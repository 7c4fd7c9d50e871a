package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/monban-idp/monban/storage"
)

// readyTimeout bounds each readiness check, so a hung database makes
// /readyz fail rather than hang the orchestrator's probe.
const readyTimeout = 2 * time.Second

// management serves the management listener, a port apart from the
// provider's (never exposed to browsers or relying parties):
//
//   - /healthz: 200 while the process runs (liveness);
//   - /readyz: 200 only while the database answers, the signing keys are
//     loaded and the schema is current, and 503 from the moment shutdown
//     starts, so load balancers stop sending requests before the provider
//     drains (checklist R7);
//   - /metrics: Prometheus text exposition (see metrics).
type management struct {
	store storage.Store
	// keysReady reports whether the signing keys are loaded (keys.Keys.Ready).
	keysReady func() bool
	// pending returns the number of migrations not applied yet; nil when
	// there is no schema (--dev, the memory store).
	pending func(ctx context.Context) (int, error)
	metrics *metrics
	// pprof serves Go's profiler at /debug/pprof/ (config `pprof`).
	pprof    bool
	draining atomic.Bool
	current  atomic.Bool // the schema was found current once: it stays so
}

// drain makes /readyz answer 503 from now on.
func (m *management) drain() { m.draining.Store(true) }

// handler routes the management endpoints.
func (m *management) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", m.readyz)
	if m.metrics != nil {
		mux.Handle("GET /metrics", m.metrics)
	}
	if m.pprof {
		// net/http/pprof's handlers, on this private listener only (never
		// the public one): CPU and heap profiles of a running server, as
		// BENCHMARKS.md uses them.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// readyz runs the readiness checks and lists their results, one a line.
func (m *management) readyz(w http.ResponseWriter, r *http.Request) {
	problems := m.check(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, strings.Join(problems, "\n"))
		return
	}
	_, _ = fmt.Fprintln(w, "ok")
}

// check returns what keeps this replica from serving; none when ready.
func (m *management) check(ctx context.Context) []string {
	if m.draining.Load() {
		return []string{"shutting down"}
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var problems []string
	if err := m.store.Ping(ctx); err != nil {
		problems = append(problems, "database: "+err.Error())
	}
	if m.keysReady != nil && !m.keysReady() {
		problems = append(problems, "signing keys: not loaded")
	}
	if m.pending != nil && !m.current.Load() {
		switch n, err := m.pending(ctx); {
		case err != nil:
			problems = append(problems, "migrations: "+err.Error())
		case n > 0:
			problems = append(problems, fmt.Sprintf("migrations: %d pending", n))
		default:
			m.current.Store(true)
		}
	}
	return problems
}
