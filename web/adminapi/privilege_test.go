package adminapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// privilegeEnv is an API with administrators, ordinary users, a service
// account holding an admin scope, an ordinary client and a
// client_credentials client without admin scopes.
func privilegeEnv(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t)
	ids := map[string]string{}
	for _, u := range []struct {
		name            string
		admin, disabled bool
	}{{"root", true, false}, {"boss", true, false}, {"old", true, true}, {"pat", false, false}, {"gone", false, true}} {
		id := storage.NewID()
		ids[u.name] = id
		err := e.store.CreateUser(t.Context(), &storage.User{ID: id, Username: u.name, Email: u.name + "@example.com",
			Admin: u.admin, Disabled: u.disabled, CreatedAt: e.now, UpdatedAt: e.now})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.call("POST", "/clients", tokWrite, serviceAccount("svc", "admin:read")).want(t, http.StatusCreated)
	e.call("POST", "/clients", tokWrite, serviceAccount("robot", "api:read")).want(t, http.StatusCreated)
	e.call("POST", "/clients", tokWrite, webClient("app")).want(t, http.StatusCreated)
	return e, ids
}

// serviceAccount is a body creating a client_credentials-only client.
func serviceAccount(id, scope string) map[string]any {
	return map[string]any{"client_id": id, "client_name": "Service " + id, "grant_types": []string{"client_credentials"},
		"redirect_uris": []string{}, "scope": scope}
}

// state is every user and client as stored, to see that a refused call
// changed nothing.
func (e *env) state() string {
	e.t.Helper()
	us, err := e.store.ListUsersPage(e.t.Context(), storage.UserQuery{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.store.ListClients(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range us {
		b.WriteString(userTag(u))
	}
	for _, c := range cs {
		b.WriteString(clientTag(c))
	}
	return b.String()
}

// TestAdminPrivilege: only admin:write creates, grants or removes
// administrator rights or touches an administrator, and only admin:write
// creates or touches a client holding admin scopes
// (clientpolicy.CheckUserPrivilege, CheckClientPrivilege). A refusal is
// 403 insufficient_scope naming admin:write, with the field in errors; it
// changes nothing, ends no session and writes no audit entry.
func TestAdminPrivilege(t *testing.T) {
	const pw = "correct horse battery staple 42"
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		status                    int
		field, code               string // of a 403
	}{
		// Creating users.
		{"users creates a person", tokUsers, "POST", "/users", map[string]any{"username": "new"}, 201, "", ""},
		{"users creates a person with admin false", tokUsers, "POST", "/users", map[string]any{"username": "new", "admin": false}, 201, "", ""},
		{"users cannot create an administrator", tokUsers, "POST", "/users", map[string]any{"username": "new", "admin": true}, 403, "admin", "policy.user.admin_grant"},
		{"narrow scopes cannot create an administrator", tokNarrow, "POST", "/users", map[string]any{"username": "new", "admin": true}, 403, "admin", "policy.user.admin_grant"},
		{"write creates an administrator", tokWrite, "POST", "/users", map[string]any{"username": "new", "admin": true}, 201, "", ""},
		// Changing a person.
		{"users renames a person", tokUsers, "PATCH", "/users/{pat}", map[string]any{"name": "Pat"}, 200, "", ""},
		{"users sets a person's password", tokUsers, "PATCH", "/users/{pat}", map[string]any{"password": pw}, 200, "", ""},
		{"users cannot make a person an administrator", tokUsers, "PATCH", "/users/{pat}", map[string]any{"admin": true}, 403, "admin", "policy.user.admin_grant"},
		{"write makes a person an administrator", tokWrite, "PATCH", "/users/{pat}", map[string]any{"admin": true}, 200, "", ""},
		{"users disables a person", tokUsers, "POST", "/users/{pat}/disable", nil, 200, "", ""},
		{"users enables a person", tokUsers, "POST", "/users/{gone}/enable", nil, 200, "", ""},
		{"users signs a person out", tokUsers, "POST", "/users/{pat}/logout", nil, 200, "", ""},
		{"users deletes a person", tokUsers, "DELETE", "/users/{pat}", nil, 204, "", ""},
		// Touching an administrator.
		{"users cannot rename an administrator", tokUsers, "PATCH", "/users/{root}", map[string]any{"name": "Root"}, 403, "admin", "policy.user.admin_protected"},
		{"users cannot reset an administrator's password", tokUsers, "PATCH", "/users/{root}", map[string]any{"password": pw}, 403, "admin", "policy.user.admin_protected"},
		{"users cannot change an administrator's e-mail", tokUsers, "PATCH", "/users/{root}", map[string]any{"email": "mine@evil.example"}, 403, "admin", "policy.user.admin_protected"},
		{"users cannot remove administrator rights", tokUsers, "PATCH", "/users/{boss}", map[string]any{"admin": false}, 403, "admin", "policy.user.admin_protected"},
		{"users cannot disable an administrator", tokUsers, "POST", "/users/{boss}/disable", nil, 403, "admin", "policy.user.admin_protected"},
		{"users cannot enable a disabled administrator", tokUsers, "POST", "/users/{old}/enable", nil, 403, "admin", "policy.user.admin_protected"},
		{"users cannot sign an administrator out", tokUsers, "POST", "/users/{root}/logout", nil, 403, "admin", "policy.user.admin_protected"},
		{"users cannot delete an administrator", tokUsers, "DELETE", "/users/{boss}", nil, 403, "admin", "policy.user.admin_protected"},
		{"users cannot delete a disabled administrator", tokUsers, "DELETE", "/users/{old}", nil, 403, "admin", "policy.user.admin_protected"},
		{"narrow scopes cannot disable an administrator", tokNarrow, "POST", "/users/{boss}/disable", nil, 403, "admin", "policy.user.admin_protected"},
		{"write renames an administrator", tokWrite, "PATCH", "/users/{root}", map[string]any{"name": "Root"}, 200, "", ""},
		{"write resets an administrator's password", tokWrite, "PATCH", "/users/{root}", map[string]any{"password": pw}, 200, "", ""},
		{"write removes administrator rights", tokWrite, "PATCH", "/users/{boss}", map[string]any{"admin": false}, 200, "", ""},
		{"write disables an administrator", tokWrite, "POST", "/users/{boss}/disable", nil, 200, "", ""},
		{"write enables an administrator", tokWrite, "POST", "/users/{old}/enable", nil, 200, "", ""},
		{"write deletes an administrator", tokWrite, "DELETE", "/users/{boss}", nil, 204, "", ""},
		// Groups confer no admin right: admin:groups manages anyone's membership.
		{"groups adds an administrator to a group", tokGroups, "POST", "/groups/{staff}/members", map[string]any{"username": "root"}, 200, "", ""},
		// Clients.
		{"clients creates an application", tokNarrow, "POST", "/clients", webClient("shop"), 201, "", ""},
		{"clients creates a service account without admin scopes", tokNarrow, "POST", "/clients", serviceAccount("bot", "api:read"), 201, "", ""},
		{"clients cannot create an admin service account", tokNarrow, "POST", "/clients", serviceAccount("bot", "admin:write"), 403, "scope", "policy.client.admin_grant"},
		{"clients cannot create a read-only admin service account", tokNarrow, "POST", "/clients", serviceAccount("bot", "admin:read"), 403, "scope", "policy.client.admin_grant"},
		{"write creates an admin service account", tokWrite, "POST", "/clients", serviceAccount("bot", "admin:write"), 201, "", ""},
		{"clients renames an application", tokNarrow, "PATCH", "/clients/app", map[string]any{"client_name": "App"}, 200, "", ""},
		{"clients cannot give a client admin scopes", tokNarrow, "PATCH", "/clients/robot", map[string]any{"scope": "admin:clients"}, 403, "scope", "policy.client.admin_grant"},
		{"clients cannot rename an admin service account", tokNarrow, "PATCH", "/clients/svc", map[string]any{"client_name": "Mine"}, 403, "scope", "policy.client.admin_protected"},
		{"clients cannot set an admin service account's secret", tokNarrow, "PATCH", "/clients/svc", map[string]any{"client_secret": strings.Repeat("s", 40)}, 403, "scope", "policy.client.admin_protected"},
		{"clients cannot remove admin scopes", tokNarrow, "PATCH", "/clients/svc", map[string]any{"scope": "api:read"}, 403, "scope", "policy.client.admin_protected"},
		{"clients cannot rotate an admin service account's secret", tokNarrow, "POST", "/clients/svc/secret", nil, 403, "scope", "policy.client.admin_protected"},
		{"clients rotates an application's secret", tokNarrow, "POST", "/clients/app/secret", nil, 200, "", ""},
		{"clients cannot delete an admin service account", tokNarrow, "DELETE", "/clients/svc", nil, 403, "scope", "policy.client.admin_protected"},
		{"clients deletes an application", tokNarrow, "DELETE", "/clients/app", nil, 204, "", ""},
		{"write gives a client admin scopes", tokWrite, "PATCH", "/clients/robot", map[string]any{"scope": "admin:clients"}, 200, "", ""},
		{"write rotates an admin service account's secret", tokWrite, "POST", "/clients/svc/secret", nil, 200, "", ""},
		{"write deletes an admin service account", tokWrite, "DELETE", "/clients/svc", nil, 204, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ids := privilegeEnv(t)
			var g Group
			e.call("POST", "/groups", tokWrite, map[string]any{"name": "staff"}).want(t, http.StatusCreated).json(t, &g)
			ids["staff"] = g.ID
			// Each user has a session, to see whether a call ended it.
			for name, id := range ids {
				s := &storage.Session{ID: "s-" + name, TokenHash: storage.HashToken("cookie-" + name), UserID: id, AuthTime: e.now,
					AMR: []string{"pwd"}, CreatedAt: e.now, LastSeenAt: e.now, ExpiresAt: e.now.Add(24 * time.Hour)}
				if name != "staff" {
					if err := e.store.CreateSession(t.Context(), s); err != nil {
						t.Fatal(err)
					}
				}
			}
			path := tc.path
			for name, id := range ids {
				path = strings.ReplaceAll(path, "{"+name+"}", id)
			}
			before, audits := e.state(), len(e.audit())
			a := e.call(tc.method, path, tc.token, tc.body).want(t, tc.status)
			if tc.status != http.StatusForbidden {
				// The change's entry (ending sessions adds their own).
				if got := len(e.audit()); got <= audits {
					t.Errorf("%d audit entries after the change, want more than %d", got, audits)
				}
				return
			}
			p := a.problem(t)
			if p.Type != probForbidden || len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code ||
				!strings.Contains(p.Errors[0].Message, "admin:write") {
				t.Errorf("problem %+v, want %s naming %s with %s", p, probForbidden, tc.field, tc.code)
			}
			if got := a.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="admin:write"`) {
				t.Errorf("WWW-Authenticate %q, want insufficient_scope naming admin:write", got)
			}
			if e.state() != before {
				t.Error("a refused call changed a user or a client")
			}
			if got := len(e.audit()); got != audits {
				t.Errorf("a refused call wrote %d audit entries", got-audits)
			}
			for name := range ids {
				if name == "staff" {
					continue
				}
				if s, err := e.store.GetSession(t.Context(), "s-"+name); err != nil || !s.RevokedAt.IsZero() {
					t.Errorf("a refused call ended the session of %s (%v)", name, err)
				}
			}
		})
	}
}

// TestAdminPrivilegeAuditShape: a change a narrow scope may make is
// audited as before (actor the service account, "admin API"), and the
// answer of a refusal is a problem document the OpenAPI document allows.
func TestAdminPrivilegeAuditShape(t *testing.T) {
	e, ids := privilegeEnv(t)
	e.call("PATCH", "/users/"+ids["pat"], tokUsers, map[string]any{"name": "Pat"}).want(t, http.StatusOK)
	var got *storage.AuditEntry
	for _, a := range e.audit() {
		if a.Action == "user.update" {
			got = a
		}
	}
	if got == nil {
		t.Fatal("no user.update entry")
	}
	if got.Action != "user.update" || got.ActorID != "client:helpdesk" || got.Actor != "helpdesk" || got.Detail != "admin API" ||
		got.Target != "user:"+ids["pat"] {
		t.Errorf("audit entry %+v", got)
	}
	var after map[string]any
	if err := json.Unmarshal([]byte(got.After), &after); err != nil || after["Name"] != "Pat" {
		t.Errorf("audit after %s (%v)", got.After, err)
	}
	c := newChecker(t, e)
	body := mustJSON(t, map[string]any{"admin": true})
	c.check(e.call("PATCH", "/users/"+ids["pat"], tokUsers, body).want(t, http.StatusForbidden), body)
}
