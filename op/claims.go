package op

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/monban-idp/monban/storage"
)

// Scopes monban knows (OIDC Core §5.4, §11; `groups` is the de facto
// scope of Kubernetes, oauth2-proxy and Grafana). Others are ignored when
// requested (OIDC Core §3.1.2.1: unknown scope values SHOULD be ignored).
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopePhone         = "phone"
	scopeAddress       = "address"
	scopeGroups        = "groups"
	scopeOfflineAccess = "offline_access"
)

var knownScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopePhone, scopeAddress, scopeGroups, scopeOfflineAccess}

// userClaimNames are the claims userClaims can carry, for discovery's
// claims_supported.
var userClaimNames = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
	"email", "email_verified", "phone_number", "phone_number_verified", "address", "groups",
}

// userClaims are the standard claims released by the profile, email,
// phone and address scopes (OIDC Core §5.1, §5.4), and the `groups` claim
// for the groups scope. Empty values are left out (§5.3.2: a claim
// without a value SHOULD be omitted).
type userClaims struct {
	Name                string           `json:"name,omitempty"`
	GivenName           string           `json:"given_name,omitempty"`
	FamilyName          string           `json:"family_name,omitempty"`
	MiddleName          string           `json:"middle_name,omitempty"`
	Nickname            string           `json:"nickname,omitempty"`
	PreferredUsername   string           `json:"preferred_username,omitempty"`
	Profile             string           `json:"profile,omitempty"`
	Picture             string           `json:"picture,omitempty"`
	Website             string           `json:"website,omitempty"`
	Gender              string           `json:"gender,omitempty"`
	Birthdate           string           `json:"birthdate,omitempty"`
	Zoneinfo            string           `json:"zoneinfo,omitempty"`
	Locale              string           `json:"locale,omitempty"`
	UpdatedAt           int64            `json:"updated_at,omitempty"`
	Email               string           `json:"email,omitempty"`
	EmailVerified       *bool            `json:"email_verified,omitempty"`
	PhoneNumber         string           `json:"phone_number,omitempty"`
	PhoneNumberVerified *bool            `json:"phone_number_verified,omitempty"`
	Address             *storage.Address `json:"address,omitempty"`
	Groups              []string         `json:"groups,omitempty"`
}

func claimsFor(u *storage.User, scopes []string) userClaims {
	var c userClaims
	if slices.Contains(scopes, scopeProfile) {
		c.Name, c.GivenName, c.FamilyName, c.MiddleName = u.Name, u.GivenName, u.FamilyName, u.MiddleName
		c.Nickname, c.PreferredUsername = u.Nickname, u.PreferredUsername
		if c.PreferredUsername == "" {
			c.PreferredUsername = u.Username
		}
		c.Profile, c.Picture, c.Website, c.Gender = u.Profile, u.Picture, u.Website, u.Gender
		c.Birthdate, c.Zoneinfo, c.Locale = u.Birthdate, u.Zoneinfo, u.Locale
		c.UpdatedAt = u.UpdatedAt.Unix()
	}
	if slices.Contains(scopes, scopeEmail) && u.Email != "" {
		c.Email = u.Email
		verified := u.EmailVerified
		c.EmailVerified = &verified
	}
	if slices.Contains(scopes, scopePhone) && u.PhoneNumber != "" {
		c.PhoneNumber = u.PhoneNumber
		verified := u.PhoneNumberVerified
		c.PhoneNumberVerified = &verified
	}
	if slices.Contains(scopes, scopeAddress) && !u.Address.IsZero() {
		a := u.Address
		c.Address = &a
	}
	if slices.Contains(scopes, scopeGroups) {
		c.Groups = slices.Clone(u.Groups) // sorted by the store
	}
	return c
}

// mappedClaims are the custom attributes of u that the client's claim
// mappings release for the scopes (storage.ClaimMapping), by claim name;
// nil when there are none.
func mappedClaims(c *storage.Client, u *storage.User, scopes []string) map[string]any {
	var out map[string]any
	for _, m := range c.ClaimMappings {
		v, ok := u.Attributes[m.Attribute]
		if !ok || !slices.Contains(scopes, m.Scope) {
			continue
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[m.Claim] = v.Claim()
	}
	return out
}

// withClaims returns v, a JSON object, with the extra claims added; a
// claim v already has keeps its value (clientpolicy refuses mappings to
// registered claim names, this is the second line).
func withClaims(v any, extra map[string]any) (any, error) {
	if len(extra) == 0 {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, taken := m[k]; !taken {
			m[k] = x
		}
	}
	return m, nil
}

// userinfoResponse is the UserInfo response body (OIDC Core §5.3.2).
type userinfoResponse struct {
	Subject string `json:"sub"`
	userClaims
}
