// Command monban-bench is a load generator for a running monban on the
// same machine. It runs each scenario for a bounded time and number of
// requests with a pool of workers and prints requests (or flows) per
// second, p50/p95/p99 latency, errors and, given --pid, the server's
// resident memory; --json writes the same as JSON.
//
// Scenarios: discovery and jwks (GET), client_credentials (RFC 6749 §4.4),
// sso (authorize with a session cookie → code → token with PKCE,
// RFC 7636), password (the login form, then code and token), refresh
// (RFC 6749 §6, rotating), introspection (RFC 7662) and userinfo
// (OIDC Core §5.3).
//
// Each worker is one simulated client with one keep-alive connection
// driven directly (conn, as wrk does: prepared request bytes, net/http's
// response parser), so connection set-up is not measured and the load
// generator takes as little of the shared CPUs as it can. The password
// scenario and the workers' own sign-ins use a net/http.Client with a
// cookie jar (the login page, its form and redirects; a provider that
// signs the bench user in without a page redirects straight to the
// client); the SSO scenario then sends the session cookie that sign-in
// set. A closed-loop worker
// pool measures throughput at a fixed concurrency; latency is the time of
// one scenario iteration.
//
// With --dsn it provisions what it needs in the server's PostgreSQL store
// (a machine client, a web client and a user, with fresh random names and
// secrets). Without it, give an existing client and user (for `monban
// serve --dev`, the demo credentials it prints); client_credentials then
// needs --machine-id and --machine-secret.
//
// Only loopback targets are accepted, and every run is bounded by
// --duration (at most 5 minutes) and --max-requests.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/postgres"
)

// allScenarios is the default order of a run.
var allScenarios = []string{"discovery", "jwks", "client_credentials", "introspection", "userinfo", "sso", "refresh", "password"}

// idleScenario sends nothing: each worker waits idlePause per iteration.
// With --revoke-rate it measures what the revocations cost the servers
// by themselves (--revocation-cost); it runs only when named.
const (
	idleScenario = "idle"
	idlePause    = 10 * time.Millisecond
)

const maxDuration = 5 * time.Minute

type options struct {
	url, dsn, jsonOut               string
	clientID, clientSecret, redir   string
	machineID, machineSecret        string
	username, password, scenarioArg string
	idTokenAlg, scope, compare      string
	revocationCost                  string
	forwardedFor                    bool
	refreshIDToken                  bool
	duration                        time.Duration
	concurrency, maxRequests, pid   int
	pgPid, revokeRate               int
	origin                          string    // scheme://host of url
	ep                              endpoints // from the discovery document
}

// Result is one scenario's measurements, as printed and written to JSON.
type Result struct {
	Scenario   string  `json:"scenario"`
	Iterations int64   `json:"iterations"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	RSSKiB     int64   `json:"server_rss_kib,omitempty"`
	// CPUms is the server's CPU (user+system) per iteration, in ms
	// (--pid); PGCPUms the PostgreSQL cluster's (--pg-pid).
	CPUms   float64 `json:"server_cpu_ms_per_iteration,omitempty"`
	PGCPUms float64 `json:"pg_cpu_ms_per_iteration,omitempty"`
	// Revocations is how many other people were logged out during the
	// scenario (--revoke-rate).
	Revocations int64  `json:"revocations,omitempty"`
	FirstError  string `json:"first_error,omitempty"`
	Concurrency int    `json:"concurrency"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "monban-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("monban-bench", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "issuer `URL` of the running monban (loopback only)")
	fs.StringVar(&o.dsn, "dsn", "", "PostgreSQL `DSN` of the server's store: provision clients and a user there")
	fs.StringVar(&o.clientID, "client-id", "", "confidential web client (without --dsn)")
	fs.StringVar(&o.clientSecret, "client-secret", "", "its secret")
	fs.StringVar(&o.redir, "redirect-uri", "", "its redirect URI")
	fs.StringVar(&o.machineID, "machine-id", "", "client with the client_credentials grant (without --dsn)")
	fs.StringVar(&o.machineSecret, "machine-secret", "", "its secret")
	fs.StringVar(&o.username, "username", "", "user to sign in as (without --dsn)")
	fs.StringVar(&o.password, "password", "", "the user's password")
	fs.StringVar(&o.scenarioArg, "scenarios", strings.Join(allScenarios, ","), "comma-separated `scenarios`")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "run time of each scenario (at most 5m)")
	fs.IntVar(&o.concurrency, "concurrency", 4*runtime.NumCPU(), "workers")
	fs.IntVar(&o.maxRequests, "max-requests", 1_000_000, "iterations per scenario at most")
	fs.IntVar(&o.pid, "pid", 0, "server `PID`: report its VmRSS after each scenario")
	fs.StringVar(&o.idTokenAlg, "id-token-alg", "", "with --dsn: the web client's ID token `algorithm` (RS256 when empty; ES256, PS256, EdDSA)")
	fs.BoolVar(&o.refreshIDToken, "refresh-id-token", true, "with --dsn: the web client gets an ID token on every refresh "+
		"(=false: none, OIDC Core §12.2)")
	fs.BoolVar(&o.forwardedFor, "forwarded-for", false, "send each browser's sign-in from its own address in X-Forwarded-For "+
		"(198.18.0.0/15, RFC 2544), so the per-address sign-in throttle does not cap the password scenario; "+
		"the server must list this machine in trusted_proxies")
	fs.StringVar(&o.jsonOut, "json", "", "write the results to this `file` as JSON")
	fs.StringVar(&o.scope, "scope", "openid profile", "`scopes` of the web client's sign-ins (a reference provider may need offline_access for refresh tokens)")
	fs.IntVar(&o.pgPid, "pg-pid", 0, "PostgreSQL postmaster `PID`: report the CPU per iteration of the cluster")
	fs.IntVar(&o.revokeRate, "revoke-rate", 0, "with --dsn: log other people out at this `rate` per second during every scenario")
	fs.StringVar(&o.revocationCost, "revocation-cost", "", "print the CPU per iteration of two --json `files` (QUIET,REVOKING) "+
		"with and without the revocations' own cost, measured by the idle scenario of both, and exit")
	fs.StringVar(&o.compare, "compare", "", "print the ratios of two --json `files` (MONBAN,REFERENCE) and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.compare != "" {
		return compare(o.compare, stdout)
	}
	if o.revocationCost != "" {
		return revocationCost(o.revocationCost, stdout)
	}
	if o.revokeRate < 0 || o.revokeRate > 10_000 || o.revokeRate > 0 && o.dsn == "" {
		return errors.New("--revoke-rate must be in [0, 10000] and needs --dsn")
	}
	if o.duration <= 0 || o.duration > maxDuration || o.concurrency < 1 || o.maxRequests < 1 {
		return fmt.Errorf("--duration must be in (0, %s], --concurrency and --max-requests positive", maxDuration)
	}
	if err := checkLoopback(o.url); err != nil {
		return err
	}
	o.url = strings.TrimSuffix(o.url, "/")
	if err := discover(ctx, &o); err != nil {
		return err
	}
	scenarios := strings.Split(o.scenarioArg, ",")
	for _, s := range scenarios {
		if !slices.Contains(allScenarios, s) && s != idleScenario {
			return fmt.Errorf("unknown scenario %q (known: %s, %s)", s, strings.Join(allScenarios, ", "), idleScenario)
		}
	}
	var err error
	if o.dsn != "" {
		if err := provision(ctx, &o); err != nil {
			return err
		}
	}
	var rv *revoker
	if o.revokeRate > 0 {
		if rv, err = newRevoker(ctx, o.dsn, o.revokeRate); err != nil {
			return err
		}
		defer rv.close()
	}
	tr := &http.Transport{MaxIdleConns: 2 * o.concurrency, MaxIdleConnsPerHost: 2 * o.concurrency,
		IdleConnTimeout: 30 * time.Second, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()

	fmt.Fprintf(stdout, "%-19s %10s %8s %10s %9s %9s %9s %10s %8s %8s\n", "scenario", "iter", "errors", "per sec", "p50 ms", "p95 ms", "p99 ms",
		"RSS MiB", "CPU ms", "PG ms")
	var results []Result
	var workers []*worker
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		if s == "client_credentials" && o.machineID == "" {
			fmt.Fprintf(stdout, "%-19s skipped: no client_credentials client (--dsn or --machine-id)\n", s)
			continue
		}
		if workers == nil {
			if workers, err = newWorkers(ctx, &o, tr, scenarios); err != nil {
				return err
			}
		}
		r, err := runScenario(ctx, &o, workers, s, rv)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		if o.pid > 0 {
			r.RSSKiB = rssKiB(o.pid)
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "%-19s %10d %8d %10.0f %9.2f %9.2f %9.2f %10.1f %8.3f %8.3f\n", r.Scenario, r.Iterations, r.Errors,
			r.PerSecond, r.P50ms, r.P95ms, r.P99ms, float64(r.RSSKiB)/1024, r.CPUms, r.PGCPUms)
		if rv != nil {
			fmt.Fprintf(stdout, "%-19s %d other people logged out (%.0f/s)\n", "", r.Revocations, float64(r.Revocations)/r.Seconds)
		}
		if r.FirstError != "" {
			fmt.Fprintf(stdout, "%-19s first error: %s\n", "", r.FirstError)
		}
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(map[string]any{"url": o.url, "cpus": runtime.NumCPU(), "results": results}, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// checkLoopback refuses targets that are not this machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: only loopback targets (127.0.0.1, [::1], localhost) are allowed", raw)
}

// provision creates a machine client, a web client and a user in the
// store at o.dsn and points o at them.
func provision(ctx context.Context, o *options) error {
	st, err := postgres.Open(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	suffix := storage.NewToken()[:8]
	o.machineID, o.machineSecret = "bench-machine-"+suffix, storage.NewToken()
	o.clientID, o.clientSecret = "bench-web-"+suffix, storage.NewToken()
	o.redir = "http://127.0.0.1:9/callback"
	o.username, o.password = "bench-"+suffix, storage.NewToken()
	hash, err := password.NewHasher(password.DefaultParams, 1).Hash(o.password)
	if err != nil {
		return err
	}
	if err := st.CreateUser(ctx, &storage.User{ID: storage.NewID(), Username: o.username, Email: o.username + "@example.com",
		EmailVerified: true, Name: "Bench User", PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		return fmt.Errorf("provision user: %w", err)
	}
	for _, c := range []*storage.Client{
		{ID: o.machineID, Name: "Bench machine", SecretHash: storage.HashToken(o.machineSecret),
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}},
		{ID: o.clientID, Name: "Bench web", SecretHash: storage.HashToken(o.clientSecret), RedirectURIs: []string{o.redir},
			IDTokenSigningAlg: o.idTokenAlg, OmitRefreshIDToken: !o.refreshIDToken,
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access"}},
	} {
		c.AuthMethod, c.ApplicationType, c.CreatedAt, c.UpdatedAt = storage.AuthMethodBasic, storage.ApplicationWeb, now, now
		if err := st.CreateClient(ctx, c); err != nil {
			return fmt.Errorf("provision client: %w", err)
		}
	}
	return nil
}

// worker is one simulated client: its own cookie jar (browser session)
// and the tokens its scenario prepared.
type worker struct {
	o            *options
	c            *http.Client
	accessToken  string
	refreshToken string

	raw       *conn  // the worker's own keep-alive connection
	base      string // the issuer URL's path, prefixed to every target
	webAuth   string // Authorization header line of the web client
	machAuth  string // … of the machine client
	cookie    string // Cookie header line of the worker's session
	issuerURL *url.URL
}

func newWorker(o *options, tr *http.Transport) *worker {
	jar, _ := cookiejar.New(nil)
	issuer, _ := url.Parse(o.url)
	var rt http.RoundTripper = tr
	if o.forwardedFor {
		rt = forwardedFor(tr)
	}
	return &worker{o: o, raw: &conn{addr: issuer.Host}, base: strings.TrimSuffix(issuer.Path, "/"), issuerURL: issuer,
		webAuth: basicAuth(o.clientID, o.clientSecret), machAuth: basicAuth(o.machineID, o.machineSecret),
		c: &http.Client{Transport: rt, Jar: jar, Timeout: 30 * time.Second,
			// Follow redirects inside the provider only: the last answer is
			// the redirect to the client with the code.
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				if req.URL.Host != issuer.Host {
					return http.ErrUseLastResponse
				}
				return nil
			}}}
}

// newWorkers makes o.concurrency workers, each signed in once with the
// password when a scenario needs a session or tokens. They are shared by
// all scenarios: the sign-in throttle (30 a minute per address) would
// refuse a fresh sign-in per worker and scenario.
func newWorkers(ctx context.Context, o *options, tr *http.Transport, scenarios []string) ([]*worker, error) {
	needSession := slices.ContainsFunc(scenarios, func(s string) bool {
		return slices.Contains([]string{"sso", "introspection", "userinfo", "refresh"}, s)
	})
	workers := make([]*worker, o.concurrency)
	for i := range workers {
		workers[i] = newWorker(o, tr)
		if needSession {
			if err := workers[i].passwordFlow(ctx); err != nil {
				return nil, fmt.Errorf("sign in: %w", err)
			}
			workers[i].cookie = cookieHeader(workers[i].c.Jar.Cookies(workers[i].issuerURL))
		}
	}
	return workers, nil
}

// maxPasswordSignIns caps the password scenario below the sign-in
// throttle's 30 attempts a minute per address (web/throttle.go), minus
// the workers' own sign-ins: from one address a server admits no more.
const maxPasswordSignIns = 20

// runScenario runs name on the workers until the duration or the request
// budget is used up.
func runScenario(ctx context.Context, o *options, workers []*worker, name string, rv *revoker) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	stopped := make(chan struct{})
	var revokedBefore int64
	if rv != nil {
		revokedBefore = rv.done.Load()
		go func() { defer close(stopped); rv.run(ctx) }()
	} else {
		close(stopped)
	}
	var (
		budget   atomic.Int64
		errCount atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	budget.Store(int64(o.maxRequests))
	if name == "password" && !o.forwardedFor {
		budget.Store(int64(min(o.maxRequests, maxPasswordSignIns)))
	}
	lat := make([][]time.Duration, len(workers))
	meter := startCPU(o.pid, o.pgPid)
	start := time.Now()
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				t0 := time.Now()
				// An iteration under way at the deadline finishes (and is
				// not counted) rather than being cut off: cancelled requests
				// would only make the server log errors.
				err := w.iterate(context.WithoutCancel(ctx), name)
				if ctx.Err() != nil {
					return // cut off by the deadline: not counted
				}
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	srvCPU, pgCPU := meter.since()
	cancel()
	<-stopped
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Scenario: name, Iterations: int64(len(all)), Errors: errCount.Load(), Seconds: elapsed.Seconds(),
		PerSecond: float64(len(all)) / elapsed.Seconds(), Concurrency: o.concurrency,
		P50ms: pct(all, 0.50), P95ms: pct(all, 0.95), P99ms: pct(all, 0.99),
		CPUms: perIteration(srvCPU, len(all)), PGCPUms: perIteration(pgCPU, len(all))}
	if rv != nil {
		r.Revocations = rv.done.Load() - revokedBefore
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r, nil
}

func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

func (w *worker) iterate(ctx context.Context, name string) error {
	switch name {
	case idleScenario:
		time.Sleep(idlePause) // pacing of a load tool, not a test
		return nil
	case "discovery":
		return w.rawGet(w.base+"/.well-known/openid-configuration", "")
	case "jwks":
		return w.rawGet(w.o.ep.jwks, "")
	case "client_credentials":
		_, err := w.rawToken(w.machAuth, "grant_type=client_credentials&scope=api%3Aread")
		return err
	case "sso":
		return w.ssoFlow()
	case "password":
		// A new browser without a session; the worker's own is kept.
		fresh := &worker{o: w.o, c: &http.Client{Transport: w.c.Transport, CheckRedirect: w.c.CheckRedirect, Timeout: w.c.Timeout}}
		fresh.c.Jar, _ = cookiejar.New(nil)
		if w.o.forwardedFor {
			fresh.c.Transport = forwardedFor(w.c.Transport.(*forwarder).next)
		}
		return fresh.passwordFlow(ctx)
	case "refresh":
		tok, err := w.rawToken(w.webAuth, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.refreshToken}}.Encode())
		if err == nil {
			// The new access token too: a provider may end the old one
			// with its refresh token (zitadel/oidc's example does).
			w.refreshToken, w.accessToken = tok.RefreshToken, tok.AccessToken
		}
		return err
	case "introspection":
		resp, err := w.rawPost(w.o.ep.introspection, w.webAuth, "token="+url.QueryEscape(w.accessToken))
		if err == nil && !bytes.Contains(resp.body, []byte(`"active":true`)) {
			err = fmt.Errorf("POST /introspect: %.200s", resp.body)
		}
		return err
	case "userinfo":
		return w.rawGet(w.o.ep.userinfo, "Authorization: Bearer "+w.accessToken)
	}
	return fmt.Errorf("unknown scenario %q", name)
}

// rawGet sends a GET with an optional extra header line and wants 200.
func (w *worker) rawGet(path, header string) error {
	var hs []string
	if header != "" {
		hs = []string{header}
	}
	resp, err := w.raw.roundTrip(http.MethodGet, path, hs, "")
	if err == nil && resp.status != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d: %.200s", path, resp.status, resp.body)
	}
	return err
}

// rawPost sends a form with client authentication and wants 200.
func (w *worker) rawPost(path, auth, form string) (response, error) {
	resp, err := w.raw.roundTrip(http.MethodPost, path,
		[]string{auth, "Content-Type: application/x-www-form-urlencoded"}, form)
	if err == nil && resp.status != http.StatusOK {
		err = fmt.Errorf("POST %s: status %d: %.200s", path, resp.status, resp.body)
	}
	return resp, err
}

// rawToken calls the token endpoint and decodes the tokens.
func (w *worker) rawToken(auth, form string) (*tokenResponse, error) {
	resp, err := w.rawPost(w.o.ep.token, auth, form)
	if err != nil {
		return nil, err
	}
	var tok tokenResponse
	if err := json.Unmarshal(resp.body, &tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("token response without an access token (%v)", err)
	}
	return &tok, nil
}

// basicAuth is the Authorization header line of HTTP Basic client
// authentication (RFC 6749 §2.3.1: the ID and secret form-encoded first).
func basicAuth(id, secret string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// cookieHeader is the Cookie header line that sends cs.
func cookieHeader(cs []*http.Cookie) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return "Cookie: " + strings.Join(parts, "; ")
}

// do sends req, reads the whole body (so the connection is reused) and
// checks the status.
func (w *worker) do(req *http.Request, want int) (*http.Response, error) {
	resp, err := w.c.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	if resp.StatusCode != want {
		return resp, fmt.Errorf("%s %s: status %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, nil
}

func (w *worker) post(ctx context.Context, path, id, secret string, form url.Values, mustContain string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.o.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := w.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), mustContain) {
		return fmt.Errorf("POST %s: %.200s", path, body)
	}
	return nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// token calls the token endpoint with HTTP Basic client authentication
// (RFC 6749 §2.3.1).
func (w *worker) token(ctx context.Context, id, secret string, form url.Values) (*tokenResponse, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.o.origin+w.o.ep.token, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := w.do(req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var tok tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("token response without an access token (%v)", err)
	}
	return &tok, nil
}

// authorizeURL starts a code flow with PKCE (RFC 7636, S256).
func (w *worker) authorizeURL(verifier string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {w.o.clientID}, "redirect_uri": {w.o.redir},
		"scope": {w.o.scope}, "state": {storage.NewToken()[:16]}, "nonce": {storage.NewToken()[:16]},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	return w.o.origin + w.o.ep.authorization + "?" + q.Encode()
}

// ssoFlow is a sign-in with a live session: no page, straight to the
// code, which is then redeemed with its PKCE verifier.
func (w *worker) ssoFlow() error {
	verifier := oauth2.GenerateVerifier()
	u, _ := url.Parse(w.authorizeURL(verifier))
	resp, err := w.raw.roundTrip(http.MethodGet, u.RequestURI(), []string{w.cookie}, "")
	if err != nil {
		return err
	}
	if resp.status != http.StatusFound && resp.status != http.StatusSeeOther {
		return fmt.Errorf("authorize: status %d, want a redirect with a code: %.200s", resp.status, resp.body)
	}
	loc, err := url.Parse(resp.location)
	if err != nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("authorize: no code in %q", resp.location)
	}
	_, err = w.rawToken(w.webAuth, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {w.o.redir}, "code_verifier": {verifier}}.Encode())
	return err
}

// passwordFlow signs in on the login form, then redeems the code, and
// keeps the tokens.
func (w *worker) passwordFlow(ctx context.Context) error {
	verifier := oauth2.GenerateVerifier()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.authorizeURL(verifier), nil)
	resp, err := w.do(req, http.StatusOK)
	if err != nil && codeRedirect(resp) {
		// The provider signed the browser in without a page (compare.sh's
		// oidc-provider: its interaction handler signs the bench account
		// in), so its redirects ended at the client with the code.
		return w.keep(w.finish(ctx, resp, verifier))
	}
	if err != nil {
		return fmt.Errorf("login page: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	action, fields, err := loginForm(string(body))
	if err != nil {
		return err
	}
	fields.Set("username", w.o.username)
	fields.Set("password", w.o.password)
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		return err
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = w.c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return w.keep(w.finish(ctx, resp, verifier))
}

// keep remembers the tokens of a sign-in for the scenarios that use them.
func (w *worker) keep(tok *tokenResponse, err error) error {
	if err != nil {
		return err
	}
	w.accessToken, w.refreshToken = tok.AccessToken, tok.RefreshToken
	return nil
}

// codeRedirect reports whether resp is a redirect to the client with an
// authorization code (RFC 6749 §4.1.2): the end of a sign-in.
func codeRedirect(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return false
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	return err == nil && loc.Query().Get("code") != ""
}

// finish takes the code from the redirect to the client and redeems it.
func (w *worker) finish(ctx context.Context, resp *http.Response, verifier string) (*tokenResponse, error) {
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("authorize: status %d at %s, want a redirect with a code", resp.StatusCode, resp.Request.URL.Path)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("authorize: no code in %q", resp.Header.Get("Location"))
	}
	return w.token(ctx, w.o.clientID, w.o.clientSecret, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {w.o.redir}, "code_verifier": {verifier}})
}

// loginForm returns the action and fields of the first POST form.
func loginForm(body string) (string, url.Values, error) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	var action string
	found := false
	vals := url.Values{}
	var walk func(n *html.Node, inForm bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode && n.Data == "form" && !found && strings.EqualFold(attr(n, "method"), "post") {
			found, inForm, action = true, true, attr(n, "action")
		}
		if inForm && n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			vals.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if !found {
		return "", nil, errors.New("no login form on the page")
	}
	return action, vals, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// rssKiB reads VmRSS of pid from /proc (Linux); 0 when unavailable.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// forwarder sends every request of one simulated browser with the same
// X-Forwarded-For address, as a load balancer in front of the provider
// would for one person.
type forwarder struct {
	next http.RoundTripper
	addr string
}

// nextAddr numbers the simulated browsers' addresses, from a random
// start, so consecutive runs against one server sign in from different
// addresses (the throttle remembers each for a minute).
var nextAddr = func() *atomic.Uint32 {
	var n atomic.Uint32
	n.Store(rand.Uint32())
	return &n
}()

// forwardedFor returns a RoundTripper for a new simulated browser with
// the next address of 198.18.0.0/15 (RFC 2544: benchmarking).
func forwardedFor(next http.RoundTripper) *forwarder {
	n := nextAddr.Add(1) % (1 << 17)
	return &forwarder{next: next, addr: fmt.Sprintf("198.%d.%d.%d", 18+n>>16, n>>8&0xff, n&0xff)}
}

// RoundTrip implements http.RoundTripper.
func (f *forwarder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}
