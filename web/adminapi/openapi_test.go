package adminapi

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/monban-idp/monban/storage"
)

// loadDoc parses and validates the OpenAPI document with kin-openapi
// (OpenAPI 3.1, JSON Schema 2020-12).
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIValid(t *testing.T) { loadDoc(t) }

// TestOpenAPIMatchesRoutes fails when a route is registered that the
// document does not list, or the document lists one that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	h := &Handler{}
	for _, rt := range h.routes() {
		served = append(served, rt.method+" "+rt.path)
	}
	served = append(served, "GET /openapi.json")
	slices.Sort(documented)
	slices.Sort(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("route %s is served but not in openapi.json", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.json lists %s, which is not served", d)
		}
	}
}

// checker validates every exchange against the document and remembers
// which operations were exercised.
type checker struct {
	t      *testing.T
	router routers.Router
	seen   map[string]bool
}

func newChecker(t *testing.T, e *env) *checker {
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: e.srv.URL + Prefix}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &checker{t: t, router: r, seen: map[string]bool{}}
}

// check validates a's request (for a success) and response against the
// document: status documented, headers, body schema.
func (c *checker) check(a answer, reqBody []byte) answer {
	c.t.Helper()
	req := a.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
	}
	c.seen[route.Method+" "+route.Path] = true
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if a.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("%s %s: request does not match the document: %v", req.Method, route.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.StatusCode, Header: a.Header,
		Body: io.NopCloser(bytes.NewReader(a.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s %s → %d: response does not match the document: %v\n%s", req.Method, route.Path, a.StatusCode, err, a.body)
	}
	return a
}

// TestEveryRoute calls every operation of the document, successes and
// refusals, and validates each answer against it.
func TestEveryRoute(t *testing.T) {
	e := newEnv(t)
	c := newChecker(t, e)
	ctx := context.Background()
	do := func(method, path, token string, body any, status int, extra ...string) answer {
		t.Helper()
		var raw []byte
		switch b := body.(type) {
		case string:
			raw = []byte(b)
		case nil:
		default:
			raw = mustJSON(t, b)
		}
		var send any
		if raw != nil {
			send = raw
		}
		return c.check(e.call(method, path, token, send, extra...).want(t, status), raw)
	}
	// OpenAPI document.
	do("GET", "/openapi.json", "", nil, 200)
	// Clients.
	var created Client
	do("POST", "/clients", tokWrite, webClient("shop"), 201).json(t, &created)
	if created.ClientSecret == "" {
		t.Fatal("create: no client_secret in the answer")
	}
	do("POST", "/clients", tokWrite, webClient("shop"), 409)
	do("POST", "/clients", tokWrite, map[string]any{"client_id": "x"}, 422)
	do("GET", "/clients", tokRead, nil, 200)
	g := do("GET", "/clients/shop", tokRead, nil, 200)
	do("GET", "/clients/nope", tokRead, nil, 404)
	do("PATCH", "/clients/shop", tokWrite, map[string]any{"client_name": "Shop"}, 200, "If-Match", g.Header.Get("ETag"))
	do("PATCH", "/clients/shop", tokWrite, map[string]any{"client_name": "Stale"}, 412, "If-Match", g.Header.Get("ETag"))
	do("PATCH", "/clients/shop", tokWrite, map[string]any{"client_secret": strings.Repeat("s", 40)}, 200)
	do("PATCH", "/clients/shop", tokWrite, map[string]any{"client_secret": "short"}, 422)
	do("POST", "/clients", tokWrite, withSecret(webClient("chosen"), strings.Repeat("c", 40)), 201)
	do("POST", "/clients/shop/secret", tokWrite, nil, 200)
	do("POST", "/clients/nope/secret", tokWrite, nil, 404)
	do("DELETE", "/clients/shop", tokWrite, nil, 204)
	do("DELETE", "/clients/shop", tokWrite, nil, 404)
	// Users.
	var u User
	do("POST", "/users", tokWrite, map[string]any{"username": "alice", "email": "alice@example.com", "admin": true,
		"attributes": map[string]any{"dept": "eng", "teams": []string{"a", "b"}}, "address": map[string]any{"country": "JP"}}, 201).json(t, &u)
	do("POST", "/users", tokWrite, map[string]any{"username": "bob", "password": "correct horse battery staple 42"}, 201)
	do("POST", "/users", tokWrite, map[string]any{"username": "alice"}, 409)
	do("POST", "/users", tokWrite, map[string]any{"username": ""}, 422)
	do("GET", "/users?q=al", tokRead, nil, 200)
	do("GET", "/users/"+u.ID, tokRead, nil, 200)
	do("GET", "/users/nope", tokRead, nil, 404)
	do("PATCH", "/users/"+u.ID, tokWrite, map[string]any{"name": "Alice"}, 200)
	do("POST", "/users/"+u.ID+"/disable", tokWrite, nil, 409) // the last enabled administrator
	do("POST", "/users/"+u.ID+"/logout", tokWrite, nil, 200)
	do("POST", "/users/"+u.ID+"/enable", tokWrite, nil, 200)
	// Groups.
	var grp Group
	do("POST", "/groups", tokWrite, map[string]any{"name": "staff"}, 201).json(t, &grp)
	do("POST", "/groups", tokWrite, map[string]any{"name": "staff"}, 409)
	do("GET", "/groups", tokRead, nil, 200)
	do("GET", "/groups?name=staff", tokRead, nil, 200)
	do("GET", "/groups/"+grp.ID, tokRead, nil, 200)
	do("PATCH", "/groups/"+grp.ID, tokWrite, map[string]any{"name": "team"}, 200)
	do("PATCH", "/groups/"+grp.ID, tokWrite, map[string]any{"description": "The team", "managed": true}, 200)
	do("PATCH", "/groups/"+grp.ID, tokWrite, map[string]any{"description": "two\nlines"}, 422)
	do("POST", "/groups/"+grp.ID+"/members", tokWrite, map[string]any{"username": "alice"}, 200)
	do("POST", "/groups/"+grp.ID+"/members", tokWrite, map[string]any{"username": "nobody"}, 422)
	do("GET", "/groups/"+grp.ID+"/members", tokRead, nil, 200)
	do("DELETE", "/groups/"+grp.ID+"/members/"+u.ID, tokWrite, nil, 204)
	do("DELETE", "/groups/"+grp.ID+"/members/"+u.ID, tokWrite, nil, 404)
	do("DELETE", "/groups/"+grp.ID, tokWrite, nil, 204)
	do("GET", "/groups/"+grp.ID, tokRead, nil, 404)
	// Sessions.
	s := &storage.Session{ID: "s1", TokenHash: storage.HashToken("cookie"), UserID: u.ID, AuthTime: e.now, AMR: []string{"pwd"},
		CreatedAt: e.now, LastSeenAt: e.now, ExpiresAt: e.now.Add(time.Hour), Address: "192.0.2.1", UserAgent: "test"}
	if err := e.store.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	do("GET", "/sessions", tokRead, nil, 200)
	do("GET", "/sessions/s1", tokRead, nil, 200)
	do("DELETE", "/sessions/s1", tokWrite, nil, 204)
	do("DELETE", "/sessions/nope", tokWrite, nil, 404)
	// Keys.
	do("GET", "/keys", tokRead, nil, 200)
	do("POST", "/keys/rotate", tokWrite, map[string]any{"immediately": true}, 200)
	do("POST", "/keys/rotate", tokWrite, nil, 200)
	// Users, the end.
	var b User
	do("GET", "/users?q=bob", tokRead, nil, 200).json(t, &struct{ Items []*User }{[]*User{&b}})
	do("DELETE", "/users/"+u.ID, tokWrite, nil, 409) // the last enabled administrator
	// Audit.
	do("GET", "/audit?action=admin&actor=ci", tokRead, nil, 200)
	do("GET", "/audit?action=nonsense", tokRead, nil, 400)
	// Refusals every route shares.
	do("GET", "/clients", "", nil, 401)
	do("GET", "/clients", "bad", nil, 401)
	do("POST", "/clients", tokRead, webClient("x"), 403)

	doc := loadDoc(t)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !c.seen[method+" "+path] {
				t.Errorf("%s %s is in the document but no test called it", method, path)
			}
		}
	}
}
