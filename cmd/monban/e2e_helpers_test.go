package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/storagetest"
)

// testClock is the shared settable test clock.
type testClock = storagetest.Clock

// testProvider is a running provider over httptest.
type testProvider struct {
	URL    string
	Store  storage.Store
	Clock  *testClock
	KEK    *keys.KeyEncryptionKeys
	App    *app.App
	Worker *op.Worker // background work: tests call Step instead of waiting
	srv    *httptest.Server
}

// serverOptions are what newTestServer's options set. Zero values are
// fresh: a memory store, a random key-encryption key, a clock at now.
type serverOptions struct {
	store    storage.Store
	listener net.Listener
	issuer   string
	kek      *keys.KeyEncryptionKeys
	clock    *testClock
	config   []func(*app.Config)
}

// serverOption sets one thing of a test server.
type serverOption func(*serverOptions)

// withStore runs the server on store (memory or PostgreSQL, see
// forEachStore); default a fresh memory store.
func withStore(store storage.Store) serverOption {
	return func(o *serverOptions) { o.store = store }
}

// withListener serves on ln, e.g. the address of a server it restarts
// (same address, so the same issuer).
func withListener(ln net.Listener) serverOption {
	return func(o *serverOptions) { o.listener = ln }
}

// withIssuer sets the issuer instead of the server's own address (a
// replica behind a test load balancer, an https issuer served in-process).
func withIssuer(issuer string) serverOption {
	return func(o *serverOptions) { o.issuer = issuer }
}

// withKEK uses kek, e.g. the secrets of a server it restarts.
func withKEK(kek *keys.KeyEncryptionKeys) serverOption {
	return func(o *serverOptions) { o.kek = kek }
}

// withClock uses clock, e.g. the clock of a server it restarts.
func withClock(clock *testClock) serverOption {
	return func(o *serverOptions) { o.clock = clock }
}

// withConfig changes the application's configuration after the test
// defaults are set.
func withConfig(f func(*app.Config)) serverOption {
	return func(o *serverOptions) { o.config = append(o.config, f) }
}

// newTestServer runs the assembled application (app.New: provider, pages,
// console, metrics) over httptest, with cheap password hashing, logs
// discarded, and back-channel logout allowed to the test relying parties
// on 127.0.0.1. Its background jobs do not run: tests call their Step with
// the server's clock. Every end-to-end test starts its servers here.
func newTestServer(t testing.TB, opts ...serverOption) *testProvider {
	t.Helper()
	var o serverOptions
	for _, f := range opts {
		f(&o)
	}
	if o.store == nil {
		o.store = memory.New()
	}
	if o.kek == nil {
		o.kek = keys.RandomKeyEncryptionKeys()
	}
	if o.clock == nil {
		o.clock = storagetest.NewClock(time.Now().UTC().Truncate(time.Second))
	}
	srv := httptest.NewUnstartedServer(nil)
	if o.listener != nil {
		_ = srv.Listener.Close()
		srv.Listener = o.listener
	}
	issuer := o.issuer
	if issuer == "" {
		issuer = "http://" + srv.Listener.Addr().String()
	}
	cfg := app.Defaults()
	cfg.Issuer, cfg.Store, cfg.KEK, cfg.Now = issuer, o.store, o.kek, o.clock.Now
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Hasher = password.NewHasher(testHashParams, 4)
	cfg.BackchannelAllowPrivateNetworks = true // test relying parties listen on 127.0.0.1
	// Reuse of a rotated refresh token is fatal at once unless a test
	// asks for the grace window (withConfig), so the reuse-detection tests
	// see the rule itself; TestDefaultRefreshGraceSurvivesConcurrentTabs
	// runs with the shipped defaults.
	cfg.RefreshReuseGrace, cfg.RefreshReuseMax = 0, 0
	for _, f := range o.config {
		f(&cfg)
	}
	a, err := app.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &testProvider{URL: issuer, Store: o.store, Clock: o.clock, KEK: o.kek, App: a, Worker: a.Worker(), srv: srv}
}

// metricsText scrapes the server's /metrics through its management
// handler.
func (p *testProvider) metricsText(t testing.TB) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.App.ManagementHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	return rec.Body.String()
}

// testHashParams keeps argon2id cheap in tests; production uses DefaultParams.
var testHashParams = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// addUser creates a user with the password.
func (p *testProvider) addUser(t *testing.T, username, pw string) *storage.User {
	t.Helper()
	hash, err := password.NewHasher(testHashParams, 1).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	now := p.Clock.Now()
	u := &storage.User{ID: storage.NewID(), Username: username, Email: username + "@example.com", EmailVerified: true,
		Name: strings.ToUpper(username[:1]) + username[1:], PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := p.Store.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// addClient registers c (defaults filled in) and returns its secret, or ""
// for public clients.
func (p *testProvider) addClient(t *testing.T, c storage.Client) string {
	t.Helper()
	if c.GrantTypes == nil {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if c.Scopes == nil {
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	if c.ApplicationType == "" {
		c.ApplicationType = storage.ApplicationWeb
	}
	var secret string
	if c.AuthMethod == "" {
		c.AuthMethod = storage.AuthMethodBasic
	}
	if c.AuthMethod != storage.AuthMethodNone {
		secret = storage.NewToken()
		c.SecretHash = storage.HashToken(secret)
	}
	c.CreatedAt, c.UpdatedAt = p.Clock.Now(), p.Clock.Now()
	if err := p.Store.CreateClient(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	return secret
}

// browser is a cookie-keeping HTTP client that follows redirects only
// within the provider, like a person whose apps live on other hosts.
type browser struct {
	t      *testing.T
	client *http.Client
	issuer *url.URL
	pages  []string // paths of HTML pages served, in order
}

func newBrowser(t *testing.T, issuer string) *browser {
	jar, _ := cookiejar.New(nil)
	iu, _ := url.Parse(issuer)
	b := &browser{t: t, issuer: iu}
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != iu.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

// visit GETs u and returns the final response (an HTML page at the
// provider, or a redirect to another host) and its body.
func (b *browser) visit(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) (*http.Response, string) {
	b.t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		b.pages = append(b.pages, resp.Request.URL.Path)
	}
	return resp, string(body)
}

// submit fills the page's POST form with values and submits it.
func (b *browser) submit(page *http.Response, body string, values map[string]string) (*http.Response, string) {
	b.t.Helper()
	action, fields := parseForm(b.t, body)
	for k, v := range values {
		fields.Set(k, v)
	}
	target := page.Request.URL.ResolveReference(&url.URL{Path: action})
	if a, err := url.Parse(action); err == nil {
		target = page.Request.URL.ResolveReference(a)
	}
	resp, err := b.client.PostForm(target.String(), fields)
	if err != nil {
		b.t.Fatalf("POST %s: %v", target, err)
	}
	return b.read(resp)
}

// parseForm returns the action and the values a browser would submit for
// the first POST form: inputs (checkboxes and radio buttons only when
// checked), textareas and the selected options of selects.
func parseForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var action string
	found := false
	vals := url.Values{}
	var walk func(n *html.Node, inForm bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode && n.Data == "form" && !found && strings.EqualFold(attr(n, "method"), "post") {
			found, inForm = true, true
			action = attr(n, "action")
		}
		if inForm && n.Type == html.ElementNode && attr(n, "name") != "" {
			name := attr(n, "name")
			switch n.Data {
			case "input":
				switch t := strings.ToLower(attr(n, "type")); {
				case t != "checkbox" && t != "radio":
					vals.Set(name, attr(n, "value"))
				case hasAttr(n, "checked"):
					vals.Add(name, attr(n, "value"))
				}
			case "textarea":
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.TextNode {
						b.WriteString(c.Data)
					}
				}
				vals.Set(name, b.String())
			case "select": // the selected option, else the first
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type == html.ElementNode && o.Data == "option" && (hasAttr(o, "selected") || !vals.Has(name)) {
						vals.Set(name, attr(o, "value"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatalf("no POST form on page:\n%s", body)
	}
	return action, vals
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// rp is a relying party using coreos/go-oidc and x/oauth2, as real apps do.
type rp struct {
	t        *testing.T
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	ctx      context.Context
}

func newRP(t *testing.T, issuer, clientID, secret, redirectURI string, scopes ...string) *rp {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, issuer) // discovery
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	endpoint := provider.Endpoint()
	// Registered as client_secret_basic: no auto-detection retry with the
	// secret in the body, which would mask the first answer.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if secret == "" {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &rp{t: t, ctx: ctx, provider: provider,
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirectURI,
			Endpoint: endpoint, Scopes: scopes},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
	}
}

// flow is one authorization request in progress.
type flow struct {
	state, nonce, verifier string
	URL                    string
}

func (r *rp) start(extra ...oauth2.AuthCodeOption) *flow {
	f := &flow{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	f.URL = r.oauth.AuthCodeURL(f.state, opts...)
	return f
}

// callbackParams checks that resp redirects to the RP's redirect URI with
// our state and the RFC 9207 iss, and returns the query.
func (r *rp) callbackParams(resp *http.Response, f *flow, issuer string) url.Values {
	r.t.Helper()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("want a redirect to the client, got %d %s", resp.StatusCode, resp.Request.URL)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		r.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != r.oauth.RedirectURL {
		r.t.Fatalf("redirected to %s, want %s", got, r.oauth.RedirectURL)
	}
	q := loc.Query()
	if q.Get("state") != f.state {
		r.t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("iss") != issuer {
		r.t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), issuer)
	}
	return q
}

// tokens is a verified token response.
type tokens struct {
	token   *oauth2.Token
	idToken *oidc.IDToken
	claims  map[string]any
}

// exchange redeems the code and verifies the ID token: signature against
// the JWKS, iss, aud, exp (go-oidc), nonce and at_hash.
func (r *rp) exchange(code string, f *flow) (*tokens, error) {
	tok, err := r.oauth.Exchange(r.ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		return nil, err
	}
	if idt.Nonce != f.nonce {
		return nil, errors.New("nonce mismatch")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	return &tokens{token: tok, idToken: idt, claims: claims}, nil
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oauthError decodes an OAuth JSON error body.
func oauthError(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}
