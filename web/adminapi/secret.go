package adminapi

import (
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// FieldClientSecret is the field of a refused client_secret.
const FieldClientSecret = "client_secret"

// secretProblem checks a client secret the caller chose (ClientWrite's
// write-only client_secret) for the client c as it will be stored: c
// must authenticate with a secret, and the secret must be long enough
// for a hash without salt (clientpolicy.MinSecretLen) and made of
// visible ASCII characters (client-secret = *VSCHAR, RFC 6749 Appendix
// A.2, without the space, which HTTP Basic encodings mangle).
func secretProblem(c *storage.Client, s string) storage.FieldError {
	switch {
	case !hasSecret(c):
		return storage.Problem("policy.client.secret_unused", nil,
			"the client does not authenticate with a secret (token_endpoint_auth_method %s)", c.AuthMethod)
	case len(s) < clientpolicy.MinSecretLen:
		return storage.Problem("policy.client.secret_short", map[string]any{"Min": clientpolicy.MinSecretLen},
			"a chosen client secret has at least %d characters; use a random one", clientpolicy.MinSecretLen)
	case len(s) > clientpolicy.MaxSecretLen:
		return storage.Problem("policy.client.secret_long", map[string]any{"Max": clientpolicy.MaxSecretLen},
			"a client secret has at most %d characters", clientpolicy.MaxSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return storage.Problem("policy.client.secret_chars", nil,
				"a client secret is made of visible ASCII characters (no spaces or control characters)")
		}
	}
	return storage.FieldError{}
}
