package clientpolicy

import (
	"testing"

	"github.com/monban-idp/monban/storage"
)

func TestCheckUserPrivilege(t *testing.T) {
	person, admin := &storage.User{Username: "pat"}, &storage.User{Username: "root", Admin: true}
	full, users := []string{ScopeAdminWrite}, []string{ScopeAdminUsers, ScopeAdminRead}
	for _, tc := range []struct {
		name          string
		scopes        []string
		before, after *storage.User
		code          string // "" when allowed
	}{
		{"users create a person", users, nil, person, ""},
		{"users change a person", users, person, person, ""},
		{"users delete a person", users, person, nil, ""},
		{"users create an administrator", users, nil, admin, codeUserAdminGrant},
		{"users make a person an administrator", users, person, admin, codeUserAdminGrant},
		{"users change an administrator", users, admin, admin, codeUserAdminProtected},
		{"users remove administrator rights", users, admin, person, codeUserAdminProtected},
		{"users delete an administrator", users, admin, nil, codeUserAdminProtected},
		{"no scope at all", nil, admin, nil, codeUserAdminProtected},
		{"write creates an administrator", full, nil, admin, ""},
		{"write changes an administrator", full, admin, person, ""},
		{"write deletes an administrator", full, admin, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckUserPrivilege(tc.scopes, tc.before, tc.after)
			switch {
			case tc.code == "" && len(errs) > 0:
				t.Errorf("refused: %v", errs)
			case tc.code != "" && (len(errs) != 1 || errs[0].Code != tc.code || errs[0].Field != FieldAdmin):
				t.Errorf("got %+v, want one %s naming %s", errs, tc.code, FieldAdmin)
			}
		})
	}
}

func TestCheckClientPrivilege(t *testing.T) {
	app := &storage.Client{ID: "app", Scopes: []string{"openid"}}
	svc := &storage.Client{ID: "svc", Scopes: []string{"api:read", ScopeAdminRead}}
	full, clients := []string{ScopeAdminWrite}, []string{ScopeAdminClients, ScopeAdminUsers, ScopeAdminGroups, ScopeAdminRead}
	for _, tc := range []struct {
		name          string
		scopes        []string
		before, after *storage.Client
		code          string
	}{
		{"clients create an application", clients, nil, app, ""},
		{"clients change an application", clients, app, app, ""},
		{"clients delete an application", clients, app, nil, ""},
		{"clients create a service account with admin scopes", clients, nil, svc, codeClientAdminGrant},
		{"clients give admin scopes", clients, app, svc, codeClientAdminGrant},
		{"clients change a service account with admin scopes", clients, svc, svc, codeClientAdminProtected},
		{"clients take admin scopes away", clients, svc, app, codeClientAdminProtected},
		{"clients delete a service account with admin scopes", clients, svc, nil, codeClientAdminProtected},
		{"write creates a service account with admin scopes", full, nil, svc, ""},
		{"write changes a service account with admin scopes", full, svc, svc, ""},
		{"write deletes a service account with admin scopes", full, svc, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckClientPrivilege(tc.scopes, tc.before, tc.after)
			switch {
			case tc.code == "" && len(errs) > 0:
				t.Errorf("refused: %v", errs)
			case tc.code != "" && (len(errs) != 1 || errs[0].Code != tc.code || errs[0].Field != FieldScopes):
				t.Errorf("got %+v, want one %s naming %s", errs, tc.code, FieldScopes)
			}
		})
	}
}
