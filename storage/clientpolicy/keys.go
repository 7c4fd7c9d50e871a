package clientpolicy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"net/url"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/netpolicy"
)

// Fields of a client's keys (OIDC Dynamic Client Registration §2).
const (
	FieldJWKS    = "jwks"
	FieldJWKSURI = "jwks_uri"
)

// MaxJWKSBytes bounds an inline key set.
const MaxJWKSBytes = 32 << 10

// validateKeys checks the keys of a private_key_jwt client (RFC 7523
// §2.2): exactly one of jwks and jwks_uri; an inline set holds only
// public signing keys of the types the provider verifies (RSA of at least
// 2048 bits, P-256, Ed25519); a jwks_uri is https (http on loopback
// only) and, unless private networks are allowed, not on a private
// address. Other clients must not register keys, which they would not
// use.
func validateKeys(cl *storage.Client, o options) storage.FieldErrors {
	var errs storage.FieldErrors
	if cl.AuthMethod != storage.AuthMethodPrivateKeyJWT {
		if cl.JWKS != "" || cl.JWKSURI != "" {
			errs.Put(FieldJWKS, storage.Problem("policy.client.keys_unused", nil,
				"keys (jwks or jwks_uri) are only for clients that authenticate with private_key_jwt"))
		}
		return errs
	}
	switch {
	case cl.JWKS == "" && cl.JWKSURI == "":
		errs.Put(FieldJWKS, storage.Problem("policy.client.keys_required", nil, "a private_key_jwt client needs its public keys: jwks or jwks_uri"))
	case cl.JWKS != "" && cl.JWKSURI != "":
		errs.Put(FieldJWKS, storage.Problem("policy.client.keys_both", nil, "give either jwks or jwks_uri, not both"))
	case cl.JWKS != "":
		errs.Put(FieldJWKS, jwksProblem(cl.JWKS))
	default:
		if err := ValidateRedirectURI(cl.JWKSURI, false); err != nil {
			errs.Put(FieldJWKSURI, uriProblem("jwks_uri", cl.JWKSURI, err))
		} else if u, _ := url.Parse(cl.JWKSURI); !o.allowPrivateBackchannel {
			if err := netpolicy.CheckHost(u.Hostname()); err != nil {
				errs.Put(FieldJWKSURI, storage.Problem("policy.uri.private_network", map[string]any{"URI": Shorten(cl.JWKSURI)},
					"jwks_uri %q is refused: %v; keys are fetched only from public addresses "+
						"unless private networks are allowed", Shorten(cl.JWKSURI), err))
			}
		}
	}
	return errs
}

// jwksProblem describes what is wrong with an inline key set, or returns
// a zero FieldError.
func jwksProblem(s string) storage.FieldError {
	if len(s) > MaxJWKSBytes {
		return storage.Problem("policy.text.too_long_bytes", map[string]any{"Max": MaxJWKSBytes}, "jwks is larger than %d bytes", MaxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return storage.Problem("policy.jwks.invalid", nil, "jwks is not a JSON Web Key Set (RFC 7517 §5)")
	}
	if len(set.Keys) == 0 {
		return storage.Problem("policy.jwks.empty", nil, "jwks has no keys")
	}
	for i, k := range set.Keys {
		key := map[string]any{"Key": i + 1}
		if !k.IsPublic() {
			return storage.Problem("policy.jwks.private", key, "jwks key %d is a private key; register only the public key", i+1)
		}
		if k.Use != "" && k.Use != "sig" {
			return storage.Problem("policy.jwks.use", key, "jwks key %d is not for signatures (use %q)", i+1, Shorten(k.Use))
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return storage.Problem("policy.jwks.rsa_size", key, "jwks key %d: RSA keys need at least 2048 bits", i+1)
			}
		case *ecdsa.PublicKey:
			if pk.Curve != elliptic.P256() {
				return storage.Problem("policy.jwks.curve", key, "jwks key %d: only P-256 EC keys are accepted (ES256)", i+1)
			}
		case ed25519.PublicKey:
		default:
			return storage.Problem("policy.jwks.key_type", key, "jwks key %d has an unsupported key type (RSA, EC P-256 or Ed25519)", i+1)
		}
	}
	return storage.FieldError{}
}
