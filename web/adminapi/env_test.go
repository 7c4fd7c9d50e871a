package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/web/session"
)

// tokens is the test's TokenVerifier: fixed tokens of service accounts.
type tokens map[string]*Token

func (t tokens) VerifyServiceToken(_ context.Context, token string) (*Token, error) {
	if v, ok := t[token]; ok {
		return v, nil
	}
	return nil, ErrInvalidToken
}

// rotator is the test's KeyRotator: it reports one rotation per call.
type rotator struct{ calls []bool }

func (r *rotator) RotateKeys(_ context.Context, immediately bool) ([]KeyRotation, error) {
	r.calls = append(r.calls, immediately)
	return []KeyRotation{{Algorithm: "RS256", Rotated: true, Retired: "k1", Current: "k2", Next: "k3", PublishedFor: time.Hour}}, nil
}

// env is an API on a memory store, served over HTTP.
type env struct {
	t     *testing.T
	store storage.Store
	srv   *httptest.Server
	keys  *rotator
	now   time.Time
}

// The tokens every test can use.
const (
	tokWrite   = "tok-write"   // ci: admin:write
	tokRead    = "tok-read"    // viewer: admin:read
	tokClients = "tok-clients" // deployer: admin:clients
	tokDPoP    = "tok-dpop"    // bound: admin:write, DPoP-bound
	tokUsers   = "tok-users"   // helpdesk: admin:users
	tokGroups  = "tok-groups"  // grouper: admin:groups
	tokNarrow  = "tok-narrow"  // narrow: admin:read admin:users admin:clients admin:groups
)

func newEnv(t *testing.T, edit ...func(*Config)) *env {
	t.Helper()
	st := memory.New()
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sessions, err := session.New(session.Config{Store: st, Issuer: "https://id.example", Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, keys: &rotator{}, now: now}
	cfg := Config{Store: st, Sessions: sessions, Keys: e.keys, Now: clock, Logger: slog.New(slog.DiscardHandler),
		Hasher: password.NewHasher(password.Params{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1),
		Verifier: tokens{
			tokWrite:   {ClientID: "ci", Scopes: []string{"admin:write"}},
			tokRead:    {ClientID: "viewer", Scopes: []string{"admin:read"}},
			tokClients: {ClientID: "deployer", Scopes: []string{"admin:clients"}},
			tokDPoP:    {ClientID: "bound", Scopes: []string{"admin:write"}, JKT: "thumb"},
			tokUsers:   {ClientID: "helpdesk", Scopes: []string{"admin:users"}},
			tokGroups:  {ClientID: "grouper", Scopes: []string{"admin:groups"}},
			tokNarrow:  {ClientID: "narrow", Scopes: []string{"admin:read", "admin:users", "admin:clients", "admin:groups"}},
		}}
	for _, f := range edit {
		f(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	body []byte
}

// json decodes the body into v.
func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
}

// call sends method path with body (JSON when not a string) and the
// token; extra are header name/value pairs.
func (e *env) call(method, path, token string, body any, extra ...string) answer {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res, b}
}

// want fails unless a has status.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", a.Request.Method, a.Request.URL.Path, a.StatusCode, status, a.body)
	}
	return a
}

// problem decodes a problem document and checks its media type.
func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p Problem
	a.json(t, &p)
	if p.Status != a.StatusCode || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, a.StatusCode)
	}
	return p
}

// webClient is a valid confidential web client to create.
func webClient(id string) map[string]any {
	return map[string]any{"client_id": id, "client_name": "App " + id, "redirect_uris": []string{"https://" + id + ".example/cb"}}
}

// audit returns the audit entries, newest first.
func (e *env) audit() []*storage.AuditEntry {
	e.t.Helper()
	es, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
