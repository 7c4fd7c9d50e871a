package clientpolicy

import (
	"regexp"
	"slices"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// Fields of the people-related client settings (issue 15).
const (
	FieldAllowedGroups = "allowed_groups"
	FieldClaimMappings = "claim_mappings"
)

// MaxAllowedGroups and MaxClaimMappings bound the lists of a client.
const (
	MaxAllowedGroups = 100
	MaxClaimMappings = 50
)

// claimName is what a mapped claim may be called: a JSON member name
// that needs no escaping anywhere, at most 64 characters.
var claimName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,63}$`)

// ReservedClaims are the claim names a mapping may not use: those of JWT
// (RFC 7519 §4.1), the ID token (OIDC Core §2), the standard claims (OIDC
// Core §5.1), the access token and introspection (RFC 9068 §2.2, RFC 7662
// §2.2), and monban's own (`fid`, `gty`, `groups`).
var ReservedClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "auth_time", "nonce", "acr", "amr", "azp",
	"at_hash", "c_hash", "s_hash", "sid", "cnf", "client_id", "scope", "token_type", "active", "username",
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
	"picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at", "groups", "fid", "gty", "events",
}

// validatePeopleFields checks the group rule (each name a valid group
// name, once) and the claim mappings: a valid attribute key, a claim name
// that is not reserved and used once, and a scope the client may request.
// Whether the groups exist is for the caller to check: this is a pure
// function.
func validatePeopleFields(cl *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	if len(cl.AllowedGroups) > MaxAllowedGroups {
		errs.Put(FieldAllowedGroups, storage.Problem("policy.client.groups_too_many", map[string]any{"Max": MaxAllowedGroups},
			"at most %d allowed groups", MaxAllowedGroups))
	}
	for i, g := range cl.AllowedGroups {
		if p := userpolicy.GroupNameRule(g); !p.IsZero() {
			errs.Put(FieldAllowedGroups, p)
		} else if slices.Contains(cl.AllowedGroups[:i], g) {
			errs.Put(FieldAllowedGroups, storage.Problem("policy.client.group_twice", map[string]any{"Group": g},
				"group %q is listed twice", g))
		}
	}
	if len(cl.ClaimMappings) > MaxClaimMappings {
		errs.Put(FieldClaimMappings, storage.Problem("policy.client.mappings_too_many", map[string]any{"Max": MaxClaimMappings},
			"at most %d claim mappings", MaxClaimMappings))
	}
	for i, m := range cl.ClaimMappings {
		switch {
		case !userpolicy.AttributeKeyRule(m.Attribute).IsZero():
			errs.Put(FieldClaimMappings, userpolicy.AttributeKeyRule(m.Attribute))
		case !claimName.MatchString(m.Claim):
			errs.Put(FieldClaimMappings, storage.Problem("policy.client.claim_name", map[string]any{"Claim": Shorten(m.Claim)},
				"claim name %q must start with a letter and hold at most 64 letters, digits, '_', '.', ':' or '-'", Shorten(m.Claim)))
		case slices.Contains(ReservedClaims, m.Claim):
			errs.Put(FieldClaimMappings, storage.Problem("policy.client.claim_reserved", map[string]any{"Claim": m.Claim},
				"claim name %q is a registered or standard claim and cannot be mapped", m.Claim))
		case !slices.Contains(cl.Scopes, m.Scope):
			errs.Put(FieldClaimMappings, storage.Problem("policy.client.claim_scope",
				map[string]any{"Scope": Shorten(m.Scope), "Claim": m.Claim},
				"scope %q of the mapping of %q is not one the client may request", Shorten(m.Scope), m.Claim))
		case slices.ContainsFunc(cl.ClaimMappings[:i], func(o storage.ClaimMapping) bool { return o.Claim == m.Claim }):
			errs.Put(FieldClaimMappings, storage.Problem("policy.client.claim_twice", map[string]any{"Claim": m.Claim},
				"claim %q is mapped twice", m.Claim))
		}
	}
	return errs
}
