package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// Helpers for the issue #3 tests: taking access away (refresh rotation,
// revocation, introspection, logout, back-channel logout).

const (
	postLogoutA = "https://app-a.example/bye"
	postLogoutB = "https://app-b.example.net/bye"
)

// logoutFixture is an ssoFixture whose two clients also registered a
// post-logout URI and a back-channel logout URI at a test receiver.
type logoutFixture struct {
	*ssoFixture
	rcv *receiver
}

func newLogoutFixture(t *testing.T, store storage.Store) *logoutFixture {
	t.Helper()
	rcv := newReceiver(t)
	p := newTestServer(t, withStore(store))
	registerLogoutClients(t, p, rcv)
	return openLogoutFixture(t, p, rcv)
}

// registerLogoutClients adds alice and the clients app-a and app-b.
func registerLogoutClients(t *testing.T, p *testProvider, rcv *receiver) {
	t.Helper()
	p.addUser(t, "alice", alicePassword)
	for _, c := range []storage.Client{
		{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}, PostLogoutRedirectURIs: []string{postLogoutA}},
		{ID: "app-b", Name: "App B", RedirectURIs: []string{redirectB}, PostLogoutRedirectURIs: []string{postLogoutB}},
	} {
		c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = rcv.uri(c.ID), true
		c.AuthMethod, c.ApplicationType = storage.AuthMethodBasic, storage.ApplicationWeb
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
		c.SecretHash = storage.HashToken(secretOf(c.ID))
		c.CreatedAt, c.UpdatedAt = p.Clock.Now(), p.Clock.Now()
		if err := p.Store.CreateClient(t.Context(), &c); err != nil {
			t.Fatal(err)
		}
	}
}

// secretOf is the fixture clients' secret: known, so a restarted provider
// over the same database can be used by new relying parties.
func secretOf(clientID string) string { return "secret-of-" + clientID + "-0123456789abcdef" }

// openLogoutFixture returns relying parties for app-a and app-b at p.
func openLogoutFixture(t *testing.T, p *testProvider, rcv *receiver) *logoutFixture {
	t.Helper()
	return &logoutFixture{rcv: rcv, ssoFixture: &ssoFixture{p: p,
		a:      newRP(t, p.URL, "app-a", secretOf("app-a"), redirectA),
		b:      newRP(t, p.URL, "app-b", secretOf("app-b"), redirectB),
		secret: map[string]string{"app-a": secretOf("app-a"), "app-b": secretOf("app-b")},
	}}
}

// rawIDToken returns the raw ID token of a token response.
func (tk *tokens) rawIDToken() string {
	s, _ := tk.token.Extra("id_token").(string)
	return s
}

// refresh redeems a refresh token through x/oauth2's TokenSource, as a
// relying party does when its access token has run out.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.oauth.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// post sends a form to the provider with HTTP Basic client credentials
// (RFC 6749 §2.3.1: form-encoded first) and returns status and body.
func (p *testProvider) post(t *testing.T, path, clientID, secret string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// revoke calls the revocation endpoint (RFC 7009) as clientID.
func (fx *logoutFixture) revoke(t *testing.T, clientID, token string) (*http.Response, string) {
	t.Helper()
	return fx.p.post(t, "/revoke", clientID, fx.secret[clientID], url.Values{"token": {token}})
}

// introspect calls the introspection endpoint (RFC 7662) as clientID and
// decodes the answer.
func (fx *logoutFixture) introspect(t *testing.T, clientID, token string) map[string]any {
	t.Helper()
	resp, body := fx.p.post(t, "/introspect", clientID, fx.secret[clientID], url.Values{"token": {token}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspection: %d (Cache-Control %q) %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("introspection body %q: %v", body, err)
	}
	return out
}

// userinfoStatus calls UserInfo with the access token and returns the
// status and WWW-Authenticate header.
func (p *testProvider) userinfoStatus(t *testing.T, accessToken string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// assertDead checks that an access token is rejected everywhere at once:
// introspection says inactive, UserInfo answers 401 invalid_token
// (RFC 6750 §3.1).
func (fx *logoutFixture) assertDead(t *testing.T, clientID, accessToken string) {
	t.Helper()
	if got := fx.introspect(t, clientID, accessToken); got["active"] != false || len(got) != 1 {
		t.Errorf("introspection = %v, want only active:false", got)
	}
	status, challenge := fx.p.userinfoStatus(t, accessToken)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("userinfo = %d %q, want 401 with error=\"invalid_token\"", status, challenge)
	}
}

// assertLive is assertDead's opposite.
func (fx *logoutFixture) assertLive(t *testing.T, clientID, accessToken string) {
	t.Helper()
	if got := fx.introspect(t, clientID, accessToken); got["active"] != true {
		t.Errorf("introspection = %v, want active:true", got)
	}
	if status, _ := fx.p.userinfoStatus(t, accessToken); status != http.StatusOK {
		t.Errorf("userinfo = %d, want 200", status)
	}
}

// verifyJWT checks a compact JWS against the provider's JWKS with go-jose,
// as a resource server or relying party would, and returns its header
// type and claims.
func (p *testProvider) verifyJWT(t *testing.T, raw string) (typ string, claims map[string]any) {
	t.Helper()
	resp, err := http.Get(p.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		t.Fatalf("parse JWS: %v", err)
	}
	h := jws.Signatures[0].Protected
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || keys[0].Algorithm != h.Algorithm {
		t.Fatalf("kid %q (alg %s) is not in the JWKS", h.KeyID, h.Algorithm)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	typ, _ = h.ExtraHeaders[jose.HeaderType].(string)
	return typ, claims
}

// jwtClaims decodes a JWT's claims without verifying it (for tokens
// already verified elsewhere).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// receiver is a relying party's back-channel logout endpoint (Back-Channel
// Logout 1.0 §2.5): one path per client under one httptest server, which
// can be taken down and brought back on the same address.
type receiver struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	got  map[string][]string // client ID → logout tokens received
	bad  []string            // what was wrong with requests
	hits map[string]int      // path → requests, redirect targets included
	srv  *httptest.Server
	// status, when set for a client, is answered instead of 200.
	status map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, got: map[string][]string{}, hits: map[string]int{}, status: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(func() { r.down() })
	return r
}

func (r *receiver) uri(clientID string) string { return "http://" + r.addr + "/bcl/" + clientID }

func (r *receiver) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.handle))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srv = srv
}

// down closes the receiver: connections are refused.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	srv.Close()
}

// up serves again on the same address.
func (r *receiver) up() {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("receiver: listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits[req.URL.Path]++
	client, ok := strings.CutPrefix(req.URL.Path, "/bcl/")
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if st := r.status[client]; st != 0 {
		if st >= 300 && st < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(st)
		return
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		r.bad = append(r.bad, req.Method+" "+req.Header.Get("Content-Type"))
	}
	if err := req.ParseForm(); err != nil || len(req.PostForm) != 1 || len(req.PostForm["logout_token"]) != 1 {
		r.bad = append(r.bad, "form: "+req.PostForm.Encode())
	}
	r.got[client] = append(r.got[client], req.PostForm.Get("logout_token"))
	w.WriteHeader(http.StatusOK)
}

// received returns the logout tokens each client got, and fails the test
// on malformed requests.
func (r *receiver) received() map[string][]string {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Errorf("malformed back-channel requests: %q", r.bad)
	}
	out := map[string][]string{}
	for k, v := range r.got {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// hitsOf returns how many requests reached path.
func (r *receiver) hitsOf(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[path]
}

// answer makes the client's endpoint answer status instead of 200.
func (r *receiver) answer(clientID string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[clientID] = status
}
