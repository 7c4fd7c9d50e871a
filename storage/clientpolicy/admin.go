package clientpolicy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// ConsoleClientID is the internal client the admin console signs in
// through (web/admin registers it). Neither the console nor the admin API
// changes or deletes it: that could lock every administrator out; the CLI
// still can.
const ConsoleClientID = "monban-admin"

// Scopes of the admin API (/admin/api/v1, package web/adminapi). Only a
// service account may hold them: a confidential client whose only grant
// is client_credentials (RFC 6749 §4.4), so an admin token never stands
// for a person and never comes from a browser.
const (
	// ScopeAdminRead reads everything the API shows.
	ScopeAdminRead = "admin:read"
	// ScopeAdminWrite reads and changes everything.
	ScopeAdminWrite = "admin:write"
	// ScopeAdminClients reads and changes clients only (CI that
	// provisions its applications).
	ScopeAdminClients = "admin:clients"
	// ScopeAdminUsers reads and changes users only.
	ScopeAdminUsers = "admin:users"
	// ScopeAdminGroups reads and changes groups and their members only.
	ScopeAdminGroups = "admin:groups"
)

// AdminScopes are the admin API's scopes.
var AdminScopes = []string{ScopeAdminRead, ScopeAdminWrite, ScopeAdminClients, ScopeAdminUsers, ScopeAdminGroups}

// AdminTokenTTL bounds the lifetime of an access token that carries an
// admin scope, whatever the client's own access-token lifetime: an admin
// token that leaks is useful for minutes only.
const AdminTokenTTL = 5 * time.Minute

// adminScopePrefix is reserved for AdminScopes.
const adminScopePrefix = "admin:"

// IsAdminScope reports whether s is in the admin API's reserved scope
// namespace ("admin:…").
func IsAdminScope(s string) bool { return strings.HasPrefix(s, adminScopePrefix) }

// IsServiceAccount reports whether c may hold admin scopes: a
// confidential client whose only grant is client_credentials.
func IsServiceAccount(c *storage.Client) bool {
	return !c.Public() && slices.Equal(c.GrantTypes, []string{"client_credentials"})
}

// validateAdminScopes refuses admin scopes on a client that is not a
// service account, and unknown scopes in the reserved namespace.
func validateAdminScopes(cl *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	var admin bool
	for _, s := range cl.Scopes {
		if !IsAdminScope(s) {
			continue
		}
		admin = true
		if !slices.Contains(AdminScopes, s) {
			errs.Put(FieldScopes, storage.Problem("policy.client.admin_scope_unknown",
				map[string]any{"Scope": Shorten(s), "Known": strings.Join(AdminScopes, " ")},
				"scope %q is not an admin scope (known: %s)", Shorten(s), strings.Join(AdminScopes, " ")))
		}
	}
	if admin && !IsServiceAccount(cl) {
		errs.Put(FieldScopes, storage.Problem("policy.client.admin_scope_service", nil,
			"admin scopes need a service account: a confidential client whose only grant type is client_credentials"))
	}
	return errs
}

// GroupFinder finds a group by name (storage.Groups has it).
type GroupFinder interface {
	GetGroupByName(ctx context.Context, name string) (*storage.Group, error)
}

// CheckAllowedGroups reports each group a client's rule names that does
// not exist (a rule naming a group nobody can be in is a mistake): one
// read per name, at most MaxAllowedGroups. The error is a store failure.
// The console, the admin API and the CLI all check it.
func CheckAllowedGroups(ctx context.Context, st GroupFinder, names []string) (storage.FieldErrors, error) {
	var errs storage.FieldErrors
	for _, n := range names {
		_, err := st.GetGroupByName(ctx, n)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			errs.Put(FieldAllowedGroups, storage.Problem("policy.client.group_missing", map[string]any{"Group": Shorten(n)},
				"group %q does not exist", Shorten(n)))
		case err != nil:
			return nil, err
		}
	}
	return errs, nil
}
