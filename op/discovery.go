package op

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// discoveryCacheSeconds is how long clients may cache discovery and JWKS.
// Keys are published ahead of use by more than this (see Keys).
const discoveryCacheSeconds = 300

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
			GrantTypesSupported:               []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken},
			SubjectTypesSupported:             []string{"public"},
			IDTokenSigningAlgValuesSupported:  []string{string(defaultIDTokAlg)},
			TokenEndpointAuthMethodsSupported: []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone},
			CodeChallengeMethodsSupported:     []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256},
			ClaimsSupported: []string{
				"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "sid",
				"name", "given_name", "family_name", "preferred_username", "updated_at", "email", "email_verified",
			},
		},
		PromptValues: []string{"none", "login", "consent", "select_account"},
		IssParameter: true, // RFC 9207 §3
	}
	return json.Marshal(doc)
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeCacheable(w, r, p.discovery, "", "application/json")
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	body, etag := p.keys.JWKS()
	writeCacheable(w, r, body, etag, "application/jwk-set+json")
}

// writeCacheable serves public metadata: cacheable, and readable from any
// origin without credentials (it holds nothing secret).
func writeCacheable(w http.ResponseWriter, r *http.Request, body []byte, etag, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(discoveryCacheSeconds))
	h.Set("Access-Control-Allow-Origin", "*")
	if etag != "" {
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(body)
}
