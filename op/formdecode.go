package op

import (
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"github.com/zitadel/schema"
)

// formDecoder is the decoder zitadel's router uses to turn a request's
// form into its request structs (zop.WithDecoder). The structs of the
// requests served most often (client credentials, the token grants,
// introspection, revocation, UserInfo) are filled directly; every other
// type goes to zitadel's own decoder (zitadel/schema, unknown keys
// ignored), which is what the router uses without this option.
//
// The direct path decodes exactly as that decoder does for these
// structs, whose fields are all strings or oidc.SpaceDelimitedArray and
// carry no default or required tags: keys match field tags
// case-insensitively (strings.EqualFold), a key that is present sets its
// field to its last value (an empty value leaves a string alone), a
// present scope is the last value split at every space (strings.Split, as
// SpaceDelimitedArray.UnmarshalText does), other keys are ignored, and
// nothing can fail. TestFormDecoderMatchesSchema checks every
// tagged field of every direct struct against zitadel/schema, so a field
// added by a later zitadel version cannot be missed silently. Why: the
// reflective decoder was ~6 % of a client_credentials grant's CPU and runs
// twice per introspection (issue #21).
type formDecoder struct {
	fallback *schema.Decoder
}

func newFormDecoder() *formDecoder {
	d := schema.NewDecoder()
	d.IgnoreUnknownKeys(true) // as zop.RegisterServer's default decoder
	return &formDecoder{fallback: d}
}

// Decode implements zitadel's httphelper.Decoder.
func (d *formDecoder) Decode(dst any, src map[string][]string) error {
	switch v := dst.(type) {
	case *zop.ClientCredentials:
		for k, vs := range src {
			clientAuth(k, vs, &v.ClientID, &v.ClientSecret, &v.ClientAssertion, &v.ClientAssertionType)
		}
	case *oidc.ClientCredentialsRequest:
		for k, vs := range src {
			switch {
			case key(k, "grant_type"):
				if s := last(vs); s != "" {
					v.GrantType = oidc.GrantType(s)
				}
			case key(k, "scope"):
				v.Scope = strings.Split(last(vs), " ")
			default:
				clientAuth(k, vs, &v.ClientID, &v.ClientSecret, &v.ClientAssertion, &v.ClientAssertionType)
			}
		}
	case *oidc.RefreshTokenRequest:
		for k, vs := range src {
			switch {
			case key(k, "refresh_token"):
				str(&v.RefreshToken, vs)
			case key(k, "scope"):
				v.Scopes = strings.Split(last(vs), " ")
			default:
				clientAuth(k, vs, &v.ClientID, &v.ClientSecret, &v.ClientAssertion, &v.ClientAssertionType)
			}
		}
	case *oidc.AccessTokenRequest:
		for k, vs := range src {
			switch {
			case key(k, "code"):
				str(&v.Code, vs)
			case key(k, "redirect_uri"):
				str(&v.RedirectURI, vs)
			case key(k, "code_verifier"):
				str(&v.CodeVerifier, vs)
			default:
				clientAuth(k, vs, &v.ClientID, &v.ClientSecret, &v.ClientAssertion, &v.ClientAssertionType)
			}
		}
	case *oidc.IntrospectionRequest:
		for k, vs := range src {
			if key(k, "token") {
				str(&v.Token, vs)
			}
		}
	case *oidc.RevocationRequest:
		for k, vs := range src {
			switch {
			case key(k, "token"):
				str(&v.Token, vs)
			case key(k, "token_type_hint"):
				str(&v.TokenTypeHint, vs)
			}
		}
	case *oidc.UserInfoRequest:
		for k, vs := range src {
			if key(k, "access_token") {
				str(&v.AccessToken, vs)
			}
		}
	default:
		return d.fallback.Decode(dst, src)
	}
	return nil
}

// key reports whether the form key k names the field tagged alias:
// zitadel/schema matches names case-insensitively (strings.EqualFold).
func key(k, alias string) bool { return k == alias || strings.EqualFold(k, alias) }

// last is the last of a key's values ("" for none): the one zitadel/schema
// decodes.
func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// str sets *dst to the last value unless that is empty (zitadel/schema
// leaves a string field alone for an empty value).
func str(dst *string, vs []string) {
	if s := last(vs); s != "" {
		*dst = s
	}
}

// clientAuth decodes the four client-authentication parameters that the
// token-endpoint requests share.
func clientAuth(k string, vs []string, id, secret, assertion, assertionType *string) {
	switch {
	case key(k, "client_id"):
		str(id, vs)
	case key(k, "client_secret"):
		str(secret, vs)
	case key(k, "client_assertion"):
		str(assertion, vs)
	case key(k, "client_assertion_type"):
		str(assertionType, vs)
	}
}
