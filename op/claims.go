package op

import (
	"slices"

	"github.com/monban-idp/monban/storage"
)

// Scopes monban knows (OIDC Core §5.4, §11). Others are ignored when
// requested (OIDC Core §3.1.2.1: unknown scope values SHOULD be ignored).
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopeOfflineAccess = "offline_access"
)

var knownScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopeOfflineAccess}

// userClaims are the standard claims released by the profile and email
// scopes (OIDC Core §5.1, §5.4).
type userClaims struct {
	Name              string `json:"name,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	UpdatedAt         int64  `json:"updated_at,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

func claimsFor(u *storage.User, scopes []string) userClaims {
	var c userClaims
	if slices.Contains(scopes, scopeProfile) {
		c.Name, c.GivenName, c.FamilyName = u.Name, u.GivenName, u.FamilyName
		c.PreferredUsername = u.Username
		c.UpdatedAt = u.UpdatedAt.Unix()
	}
	if slices.Contains(scopes, scopeEmail) && u.Email != "" {
		c.Email = u.Email
		verified := u.EmailVerified
		c.EmailVerified = &verified
	}
	return c
}

// userinfoResponse is the UserInfo response body (OIDC Core §5.3.2).
type userinfoResponse struct {
	Subject string `json:"sub"`
	userClaims
}
