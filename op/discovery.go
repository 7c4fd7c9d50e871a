package op

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// discoveryMaxAge is how long clients may cache the discovery document.
// The JWKS has its own, keys.JWKSMaxAge, which the key pre-publication lead
// exceeds (see keys.RotationPolicy).
const discoveryMaxAge = 5 * time.Minute

// discoveryDocument builds the provider metadata once (OIDC Discovery §3,
// RFC 8414 §2). Everything advertised is implemented and tested; what is
// not implemented is left out or explicitly false.
func (p *Provider) discoveryDocument() ([]byte, error) {
	doc := struct {
		oidc.DiscoveryConfiguration
		// Fields the library's struct lacks or would omit when false.
		IssParameter        bool     `json:"authorization_response_iss_parameter_supported"`
		RequestParameter    bool     `json:"request_parameter_supported"`
		RequestURIParameter bool     `json:"request_uri_parameter_supported"`
		ClaimsParameter     bool     `json:"claims_parameter_supported"`
		PromptValues        []string `json:"prompt_values_supported"`
		ACRValues           []string `json:"acr_values_supported"`
		DeviceEndpoint      string   `json:"device_authorization_endpoint,omitempty"` // RFC 8628 §4
		// RFC 9126 §5. require_pushed_authorization_requests is false for
		// the provider; clients may be registered to require PAR.
		PAREndpoint string `json:"pushed_authorization_request_endpoint,omitempty"`
		RequirePAR  bool   `json:"require_pushed_authorization_requests"`
		// RFC 9449 §5.1: present only when DPoP is enabled.
		DPoPAlgs []string `json:"dpop_signing_alg_values_supported,omitempty"`
	}{
		DiscoveryConfiguration: oidc.DiscoveryConfiguration{
			Issuer:                            p.issuer,
			AuthorizationEndpoint:             p.issuer + PathAuthorize,
			TokenEndpoint:                     p.issuer + PathToken,
			UserinfoEndpoint:                  p.issuer + PathUserinfo,
			EndSessionEndpoint:                p.issuer + PathEndSession,
			JwksURI:                           p.issuer + PathJWKS,
			ScopesSupported:                   knownScopes,
			ResponseTypesSupported:            []string{string(oidc.ResponseTypeCode)},
			ResponseModesSupported:            []string{"query"},
			GrantTypesSupported:               []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials},
			SubjectTypesSupported:             []string{"public"},
			IDTokenSigningAlgValuesSupported:  p.keys.Algorithms(), // each has a current key, kept by Keys.Rotate
			TokenEndpointAuthMethodsSupported: authMethods(clientpolicy.AuthMethods()),
			CodeChallengeMethodsSupported:     []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256},
			ClaimsSupported: append([]string{
				"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid",
			}, userClaimNames...),
			// Exactly the methods a client can be registered with
			// (clientpolicy.AuthMethods; RFC 8414 §2), each accepted only
			// from the clients registered for it (VerifyClient).
			// Revocation authenticates like the token endpoint (public
			// clients by client_id, RFC 7009 §2.1); introspection only
			// confidential clients (RFC 7662 §2.1).
			RevocationEndpoint:                        p.issuer + PathRevocation,
			RevocationEndpointAuthMethodsSupported:    authMethods(clientpolicy.AuthMethods()),
			IntrospectionEndpoint:                     p.issuer + PathIntrospection,
			IntrospectionEndpointAuthMethodsSupported: authMethods(clientpolicy.ConfidentialAuthMethods()),
			BackChannelLogoutSupported:                true, // Back-Channel Logout 1.0 §2.1
			BackChannelLogoutSessionSupported:         true,
			UILocalesSupported:                        oidc.ParseLocales(p.cfg.UILocales),
		},
		PromptValues: []string{"none", "login", "consent", "select_account"},
		IssParameter: true, // RFC 9207 §3
		// OIDC Discovery §3; the classes are package storage/acr's. The
		// claims parameter (OIDC Core §5.5) is honoured for the ID token's
		// acr (§5.5.1.1) and for individual claims within the client's
		// scopes (claimsparam.go).
		ACRValues:       acr.Supported(),
		ClaimsParameter: true,
		// RFC 9101 §10.5, OIDC Discovery §3: request objects by value
		// (requestobject.go), signed with the algorithms of client
		// assertions; request_uri only from /par (see below).
		RequestParameter: true,
	}
	for _, a := range assertionAlgs {
		doc.RequestObjectSigningAlgValuesSupported = append(doc.RequestObjectSigningAlgValuesSupported, string(a))
	}
	if p.cfg.PrivateKeyJWT {
		// RFC 8414 §2: the algorithms of private_key_jwt assertions.
		var algs []string
		for _, a := range assertionAlgs {
			algs = append(algs, string(a))
		}
		doc.TokenEndpointAuthSigningAlgValuesSupported = algs
		doc.RevocationEndpointAuthSigningAlgValuesSupported = algs
		doc.IntrospectionEndpointAuthSigningAlgValuesSupported = algs
	} else { // registrable, but not accepted here
		noJWT := func(ms []oidc.AuthMethod) []oidc.AuthMethod {
			return slices.DeleteFunc(ms, func(m oidc.AuthMethod) bool { return m == oidc.AuthMethodPrivateKeyJWT })
		}
		doc.TokenEndpointAuthMethodsSupported = noJWT(doc.TokenEndpointAuthMethodsSupported)
		doc.RevocationEndpointAuthMethodsSupported = noJWT(doc.RevocationEndpointAuthMethodsSupported)
		doc.IntrospectionEndpointAuthMethodsSupported = noJWT(doc.IntrospectionEndpointAuthMethodsSupported)
	}
	if p.cfg.PAR {
		// request_uri_parameter_supported stays false (OIDC Discovery §3):
		// only request_uri values issued by /par are accepted, never one
		// the provider would have to fetch.
		doc.PAREndpoint = p.issuer + PathPAR
	}
	if p.cfg.DPoP {
		for _, a := range dpopAlgs {
			doc.DPoPAlgs = append(doc.DPoPAlgs, string(a))
		}
	}
	if p.cfg.TokenExchange { // RFC 8693 §2; RFC 8414 §2
		doc.GrantTypesSupported = append(doc.GrantTypesSupported, oidc.GrantTypeTokenExchange)
	}
	if p.cfg.DynamicRegistration { // RFC 8414 §2: registration_endpoint
		doc.RegistrationEndpoint = p.issuer + PathRegistration
	}
	if p.cfg.DeviceFlow {
		doc.DeviceEndpoint = p.issuer + PathDeviceAuthorization
		doc.GrantTypesSupported = append(doc.GrantTypesSupported, oidc.GrantTypeDeviceCode)
	}
	return json.Marshal(doc)
}

// authMethods converts registrable method names for the discovery document.
func authMethods(ms []string) []oidc.AuthMethod {
	out := make([]oidc.AuthMethod, len(ms))
	for i, m := range ms {
		out[i] = oidc.AuthMethod(m)
	}
	return out
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeCacheable(w, r, p.discovery, "", "application/json", discoveryMaxAge)
}

// serveJWKS serves the precomputed key set (RFC 7517 §5) with an ETag, so
// a client revalidating its copy gets 304 Not Modified until the keys
// change.
func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	body, etag := p.keys.JWKS()
	writeCacheable(w, r, body, etag, "application/jwk-set+json", keys.JWKSMaxAge)
}

// writeCacheable serves public metadata: cacheable for maxAge, and readable
// from any origin without credentials (it holds nothing secret).
func writeCacheable(w http.ResponseWriter, r *http.Request, body []byte, etag, contentType string, maxAge time.Duration) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	h.Set("Access-Control-Allow-Origin", "*")
	if etag != "" {
		h.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(body)
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2):
// the header is "*" or a comma-separated list of entity tags, each maybe
// marked weak with W/.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
