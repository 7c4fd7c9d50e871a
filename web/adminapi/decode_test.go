package adminapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestStrictBodies: unknown fields, two values, wrong types, wrong media
// type and oversized bodies are refused with problem documents, and
// nothing is stored.
func TestStrictBodies(t *testing.T) {
	e := newEnv(t)
	big := `{"client_id":"big","client_name":"` + strings.Repeat("x", MaxBody) + `"}`
	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		status int
		detail string
	}{
		{"unknown field", `{"client_id":"a","client_name":"A","redirect_uris":["https://a.example/cb"],"colour":"red"}`, "", 400, "colour"},
		{"read-only field", `{"client_id":"a","client_name":"A","created_at":"2026-01-01T00:00:00Z"}`, "", 400, "created_at"},
		{"two values", `{"client_id":"a","client_name":"A","redirect_uris":["https://a.example/cb"]} {}`, "", 400, "exactly one"},
		{"trailing garbage", `{"client_id":"a","client_name":"A","redirect_uris":["https://a.example/cb"]}x`, "", 400, ""},
		{"not an object", `["a"]`, "", 400, ""},
		{"wrong type", `{"client_id":7}`, "", 400, "client_id"},
		{"not JSON", `client_id=a`, "", 400, "not valid JSON"},
		{"NUL", `{"client_id":"a\u0000","client_name":"A"}`, "", 400, "NUL"},
		{"form media type", `{"client_id":"a","client_name":"A"}`, "application/x-www-form-urlencoded", 415, ""},
		{"no media type", `{"client_id":"a","client_name":"A"}`, "none", 415, ""},
		{"too large", big, "", 413, ""},
		{"empty", ``, "", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			switch tc.ctype {
			case "":
			case "none":
				extra = []string{"Content-Type", ""}
			default:
				extra = []string{"Content-Type", tc.ctype}
			}
			a := e.call("POST", "/clients", tokWrite, tc.body, extra...).want(t, tc.status)
			p := a.problem(t)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
			if strings.Contains(p.Detail, "json:") {
				t.Errorf("detail %q carries a Go error", p.Detail)
			}
		})
	}
	if l, _ := e.store.ListClients(t.Context()); len(l) != 0 {
		t.Errorf("%d clients stored from refused bodies", len(l))
	}
}

// TestValidationProblem: a refused object lists every problem by the
// policy's field name and code (the rules of clientpolicy and
// userpolicy, as the console and the CLI apply them).
func TestValidationProblem(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		fields     []string
		code       string
	}{
		{"client: missing name and http redirect", "/clients",
			map[string]any{"client_id": "a", "redirect_uris": []string{"http://a.example/cb"}},
			[]string{"client_name", "redirect_uris"}, "policy.uri.https"},
		{"client: admin scope on a web client", "/clients",
			map[string]any{"client_id": "a", "client_name": "A", "redirect_uris": []string{"https://a.example/cb"}, "scope": "openid admin:write"},
			[]string{"scope"}, "policy.client.admin_scope_service"},
		{"client: unknown group", "/clients",
			map[string]any{"client_id": "a", "client_name": "A", "redirect_uris": []string{"https://a.example/cb"}, "allowed_groups": []string{"ghosts"}},
			[]string{"allowed_groups"}, "policy.client.group_missing"},
		{"user: bad e-mail and short password", "/users",
			map[string]any{"username": "carol", "email": "not-mail", "password": "short"},
			[]string{"email", "password"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.call("POST", tc.path, tokWrite, tc.body).want(t, http.StatusUnprocessableEntity).problem(t)
			var fields, codes []string
			for _, fe := range p.Errors {
				fields, codes = append(fields, fe.Field), append(codes, fe.Code)
				if fe.Message == "" || fe.Code == "" {
					t.Errorf("field error %+v without code or message", fe)
				}
			}
			for _, f := range tc.fields {
				if !slices.Contains(fields, f) {
					t.Errorf("errors %+v do not name %s", p.Errors, f)
				}
			}
			if tc.code != "" && !slices.Contains(codes, tc.code) {
				t.Errorf("errors %+v lack code %s", p.Errors, tc.code)
			}
		})
	}
}

// TestServiceAccountClient: a service account with admin scopes is
// accepted (confidential, client_credentials only, no redirect URI).
func TestServiceAccountClient(t *testing.T) {
	e := newEnv(t)
	var c Client
	e.call("POST", "/clients", tokWrite, map[string]any{"client_id": "robot", "client_name": "Robot",
		"grant_types": []string{"client_credentials"}, "scope": "admin:read admin:clients"}).want(t, 201).json(t, &c)
	if c.ClientSecret == "" || c.Scope != "admin:read admin:clients" {
		t.Errorf("service account %+v", c)
	}
	// Giving it the code grant too would let admin scopes reach people.
	e.call("PATCH", "/clients/robot", tokWrite, map[string]any{"grant_types": []string{"client_credentials", "authorization_code"},
		"redirect_uris": []string{"https://robot.example/cb"}}).want(t, 422)
	// Switching to public would leave a secret-less admin.
	p := e.call("PATCH", "/clients/robot", tokWrite, map[string]any{"token_endpoint_auth_method": "none"}).want(t, 422).problem(t)
	if p.Errors[0].Field != "token_endpoint_auth_method" {
		t.Errorf("errors %+v", p.Errors)
	}
	// The console's own client is out of the API's reach.
	e.call("PATCH", "/clients/monban-admin", tokWrite, map[string]any{"client_name": "x"}).want(t, 409)
	e.call("DELETE", "/clients/monban-admin", tokWrite, nil).want(t, 409)
}
