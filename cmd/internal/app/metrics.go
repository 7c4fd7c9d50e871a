package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
)

// metrics counts what the provider does and serves it at the management
// listener's /metrics, through the Prometheus client library on a private
// registry (no global state, so tests and several servers in one process
// do not collide). It implements op.Events and web.Events, so the protocol
// and page packages report events without importing Prometheus.
type metrics struct {
	registry   *prometheus.Registry
	handler    http.Handler
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	signIns    *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	reuses     prometheus.Counter
	deliveries *prometheus.CounterVec
}

// newMetrics registers every metric; pool, when not nil, reports the
// PostgreSQL connection pool.
func newMetrics(pool func() postgres.PoolStats) *metrics {
	r := prometheus.NewRegistry()
	m := &metrics{
		registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "monban_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "monban_http_request_duration_seconds",
			Help: "HTTP request latency, by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "monban_sign_ins_total",
			Help: "Password sign-ins, by result (ok, failed)."}, []string{"result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "monban_tokens_issued_total",
			Help: "Token responses, by grant type."}, []string{"grant_type"}),
		reuses: prometheus.NewCounter(prometheus.CounterOpts{Name: "monban_refresh_token_reuse_total",
			Help: "Rotated refresh tokens presented again (family revoked)."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "monban_logout_deliveries_total",
			Help: "Back-channel logout attempts, by outcome (delivered, retry, failed)."}, []string{"outcome"}),
	}
	b := Build()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{Name: "monban_build_info",
		Help:        "Always 1; the labels say which build of monban runs (as `monban version` prints it).",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion}})
	buildInfo.Set(1)
	r.MustRegister(m.requests, m.latency, m.signIns, m.tokens, m.reuses, m.deliveries, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the first scrape, so rates work at once.
	for _, v := range []string{"ok", "failed"} {
		m.signIns.WithLabelValues(v)
	}
	for _, v := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		m.tokens.WithLabelValues(v)
	}
	for _, v := range []string{"delivered", "retry", "failed"} {
		m.deliveries.WithLabelValues(v)
	}
	if pool != nil {
		r.MustRegister(poolCollector(pool))
	}
	m.handler = promhttp.HandlerFor(r, promhttp.HandlerOpts{})
	return m
}

// SignIn implements web.Events.
func (m *metrics) SignIn(ok bool) {
	result := "failed"
	if ok {
		result = "ok"
	}
	m.signIns.WithLabelValues(result).Inc()
}

// TokenIssued implements op.Events.
func (m *metrics) TokenIssued(grantType string) { m.tokens.WithLabelValues(grantType).Inc() }

// RefreshReuse implements op.Events.
func (m *metrics) RefreshReuse() { m.reuses.Inc() }

// LogoutDelivery implements op.Events.
func (m *metrics) LogoutDelivery(outcome string) { m.deliveries.WithLabelValues(outcome).Inc() }

// middleware counts and times the requests next serves. route names a
// request by the mux pattern that serves it (never the raw path, which
// would let clients create unbounded label values); routeLabel makes it
// the label. When next serves the mux through routed, the pattern the mux
// matched is taken from there and route is asked only when that did not
// name one (nothing matched, a panic, GODEBUG=httpmuxgo121=1).
func (m *metrics) middleware(next http.Handler, route func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			pattern := sw.pattern
			if pattern == "" {
				pattern = route(r)
			}
			name := routeLabel(pattern)
			m.requests.WithLabelValues(name, strconv.Itoa(sw.status())).Inc()
			m.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeLabel is the route label of a ServeMux pattern: its path part
// alone, so "GET /login", "POST /login" and "/token" give "/login",
// "/login" and "/token" (the method is not part of the label: a route is
// one label value whatever the method, issue #13 item 15). No pattern
// (nothing matched) gives "unmatched".
func routeLabel(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// ServeHTTP serves the metrics in the Prometheus exposition format.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	m.handler.ServeHTTP(w, r)
}

// expose renders the metrics as text, for tests and debugging.
func (m *metrics) expose() string {
	rec := httptest.NewRecorder()
	m.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// routed serves the mux and notes the pattern it matched
// (Request.Pattern, which ServeMux sets on the request it serves) on the
// metrics middleware's statusWriter, when that is the writer it was
// given, so the middleware does not route every request a second time.
func routed(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if sw, ok := w.(*statusWriter); ok {
			sw.pattern = r.Pattern
		}
	})
}

// statusWriter remembers the status code written, and the mux pattern
// that served the request (routed).
type statusWriter struct {
	http.ResponseWriter
	code    int
	pattern string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// poolCollector reports the PostgreSQL pool's statistics at scrape time.
func poolCollector(pool func() postgres.PoolStats) prometheus.Collector {
	return &poolStats{pool: pool,
		max:      prometheus.NewDesc("monban_db_pool_max_connections", "The PostgreSQL pool's size limit.", nil, nil),
		total:    prometheus.NewDesc("monban_db_pool_connections", "Open PostgreSQL connections.", nil, nil),
		idle:     prometheus.NewDesc("monban_db_pool_idle_connections", "Open, unused PostgreSQL connections.", nil, nil),
		acquired: prometheus.NewDesc("monban_db_pool_acquired_connections", "PostgreSQL connections in use.", nil, nil),
		acquires: prometheus.NewDesc("monban_db_pool_acquires_total", "Successful connection acquires.", nil, nil),
		empty:    prometheus.NewDesc("monban_db_pool_empty_acquires_total", "Acquires that had to wait for or open a connection.", nil, nil),
		wait:     prometheus.NewDesc("monban_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil),
	}
}

type poolStats struct {
	pool                                              func() postgres.PoolStats
	max, total, idle, acquired, acquires, empty, wait *prometheus.Desc
}

func (p *poolStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.max, p.total, p.idle, p.acquired, p.acquires, p.empty, p.wait} {
		ch <- d
	}
}

func (p *poolStats) Collect(ch chan<- prometheus.Metric) {
	st := p.pool()
	ch <- prometheus.MustNewConstMetric(p.max, prometheus.GaugeValue, float64(st.MaxConns))
	ch <- prometheus.MustNewConstMetric(p.total, prometheus.GaugeValue, float64(st.TotalConns))
	ch <- prometheus.MustNewConstMetric(p.idle, prometheus.GaugeValue, float64(st.IdleConns))
	ch <- prometheus.MustNewConstMetric(p.acquired, prometheus.GaugeValue, float64(st.AcquiredConns))
	ch <- prometheus.MustNewConstMetric(p.acquires, prometheus.CounterValue, float64(st.AcquireCount))
	ch <- prometheus.MustNewConstMetric(p.empty, prometheus.CounterValue, float64(st.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(p.wait, prometheus.CounterValue, st.AcquireDuration.Seconds())
}

// outboxScrapeTimeout bounds the store query a scrape makes, so a slow or
// unreachable database never hangs /metrics.
const outboxScrapeTimeout = 2 * time.Second

// watchOutbox reports the back-channel logout outbox at scrape time:
// deliveries waiting to be sent and deliveries given up. When the store
// cannot be asked (an outage), the two gauges are left out of that scrape
// rather than reported as zero.
func (m *metrics) watchOutbox(store storage.LogoutDeliveries) {
	m.registry.MustRegister(&outboxStats{queue: store.LogoutOutbox(),
		pending: prometheus.NewDesc("monban_logout_deliveries_pending",
			"Back-channel logout tokens waiting to be delivered (retries included).", nil, nil),
		failed: prometheus.NewDesc("monban_logout_deliveries_failed",
			"Back-channel logout tokens given up (see `monban logout-deliveries failed`).", nil, nil),
	})
}

type outboxStats struct {
	queue           storage.Queue[*storage.LogoutDelivery]
	pending, failed *prometheus.Desc
}

func (o *outboxStats) Describe(ch chan<- *prometheus.Desc) { ch <- o.pending; ch <- o.failed }

func (o *outboxStats) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
	defer cancel()
	pending, failed, err := o.queue.Count(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(o.pending, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(o.failed, prometheus.GaugeValue, float64(failed))
}
