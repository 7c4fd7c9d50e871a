package clientpolicy

import (
	"slices"
	"strings"

	"github.com/monban-idp/monban/storage"
)

// AuthMethods returns the token_endpoint_auth_method values a client can
// be registered with (OIDC Dynamic Client Registration §2; RFC 6749
// §2.3.1 for the two secret methods), the confidential ones first. A
// client registers exactly one (OIDC Core §9) and the token, revocation
// and introspection endpoints accept no other; discovery advertises
// exactly these.
func AuthMethods() []string {
	return []string{storage.AuthMethodBasic, storage.AuthMethodPost, storage.AuthMethodPrivateKeyJWT, storage.AuthMethodNone}
}

// ConfidentialAuthMethods returns the methods of AuthMethods that
// authenticate with a secret or a key: what introspection accepts (RFC 7662 §2.1),
// and what a client needs for client_credentials (RFC 6749 §4.4).
func ConfidentialAuthMethods() []string {
	return slices.DeleteFunc(AuthMethods(), func(m string) bool { return m == storage.AuthMethodNone })
}

// authMethodProblem describes why m is not a registrable method, or
// returns a zero FieldError.
func authMethodProblem(m string) storage.FieldError {
	if slices.Contains(AuthMethods(), m) {
		return storage.FieldError{}
	}
	return storage.Problem("policy.client.auth_method", map[string]any{"Method": Shorten(m), "Methods": strings.Join(AuthMethods(), ", ")},
		"client authentication method %q is not one of %s", Shorten(m), strings.Join(AuthMethods(), ", "))
}
