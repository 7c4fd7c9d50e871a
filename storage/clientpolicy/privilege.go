package clientpolicy

import (
	"slices"

	"github.com/monban-idp/monban/storage"
)

// The privilege rule of the narrow admin scopes.
//
// An administrative principal is a user with the administrator flag
// (storage.User.Admin: the console and every admin power) or a client
// that holds an admin scope (a service account of the admin API). Only a
// caller holding ScopeAdminWrite, the full-admin scope, may create one,
// turn someone into one, or change, rotate the secret of, disable,
// enable, sign out or delete one. The narrow scopes manage ordinary
// objects only: admin:users manages people who are not administrators,
// admin:clients applications that hold no admin scope. Otherwise a narrow
// scope would be full admin in two steps (make an administrator or an
// admin:write service account, then act as it), and a help-desk
// automation could take over an administrator by resetting the password
// or e-mail address that recovers the account. Group membership confers
// no admin right in monban (Admin is a flag of the user, never derived
// from groups), so admin:groups is not limited by this rule.
//
// The admin API applies the rule (web/adminapi); the console is used by
// administrators only and the CLI by whoever holds the database, both
// full admin by construction.

// Codes of the rule's problems (catalog keys).
const (
	codeUserAdminProtected   = "policy.user.admin_protected"
	codeUserAdminGrant       = "policy.user.admin_grant"
	codeClientAdminProtected = "policy.client.admin_protected"
	codeClientAdminGrant     = "policy.client.admin_grant"
)

// FieldAdmin is the user's administrator flag, the field a refusal of
// CheckUserPrivilege names.
const FieldAdmin = "admin"

// HoldsFullAdmin reports whether scopes include ScopeAdminWrite.
func HoldsFullAdmin(scopes []string) bool { return slices.Contains(scopes, ScopeAdminWrite) }

// CheckUserPrivilege reports why a caller holding scopes may not make a
// change that touches user before (its stored state; nil for a
// creation) and leaves after (nil for a deletion, or when only the stored
// state is known yet): either is an administrator and the caller lacks
// ScopeAdminWrite. The problems name FieldAdmin.
func CheckUserPrivilege(scopes []string, before, after *storage.User) storage.FieldErrors {
	var errs storage.FieldErrors
	switch {
	case HoldsFullAdmin(scopes):
	case before != nil && before.Admin:
		errs.Put(FieldAdmin, storage.Problem(codeUserAdminProtected, map[string]any{"Scope": ScopeAdminWrite},
			"the user is an administrator: only %s may change, disable, enable, sign out or delete an administrator", ScopeAdminWrite))
	case after != nil && after.Admin:
		errs.Put(FieldAdmin, storage.Problem(codeUserAdminGrant, map[string]any{"Scope": ScopeAdminWrite},
			"only %s may make a user an administrator", ScopeAdminWrite))
	}
	return errs
}

// HoldsAdminScope reports whether the client may request an admin scope.
func HoldsAdminScope(c *storage.Client) bool { return slices.ContainsFunc(c.Scopes, IsAdminScope) }

// CheckClientPrivilege is CheckUserPrivilege for clients: a client that
// holds an admin scope before or after the change is touched only by a
// caller holding ScopeAdminWrite. The problems name FieldScopes.
func CheckClientPrivilege(scopes []string, before, after *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	switch {
	case HoldsFullAdmin(scopes):
	case before != nil && HoldsAdminScope(before):
		errs.Put(FieldScopes, storage.Problem(codeClientAdminProtected, map[string]any{"Scope": ScopeAdminWrite},
			"the client is a service account with admin scopes: only %s may change it, rotate its secret or delete it", ScopeAdminWrite))
	case after != nil && HoldsAdminScope(after):
		errs.Put(FieldScopes, storage.Problem(codeClientAdminGrant, map[string]any{"Scope": ScopeAdminWrite},
			"only %s may give a client admin scopes", ScopeAdminWrite))
	}
	return errs
}
