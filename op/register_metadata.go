package op

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// clientMetadata is the client metadata of dynamic registration that
// monban keeps (RFC 7591 §2, OIDC Dynamic Client Registration 1.0 §2,
// OIDC Back-Channel Logout 1.0 §2.2, RFC 9126 §6, RFC 9449 §5.2). Other
// members of a request are ignored (RFC 7591 §2: "the authorization
// server MUST ignore any client metadata sent by the client that it does
// not understand") and not echoed.
type clientMetadata struct {
	RedirectURIs                     []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod          string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes                       []string        `json:"grant_types,omitempty"`
	ResponseTypes                    []string        `json:"response_types,omitempty"`
	ClientName                       string          `json:"client_name,omitempty"`
	Scope                            string          `json:"scope,omitempty"`
	JWKS                             json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                          string          `json:"jwks_uri,omitempty"`
	PostLogoutRedirectURIs           []string        `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI             string          `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired bool            `json:"backchannel_logout_session_required,omitempty"`
	IDTokenSignedResponseAlg         string          `json:"id_token_signed_response_alg,omitempty"`
	ApplicationType                  string          `json:"application_type,omitempty"`
	DPoPBoundAccessTokens            bool            `json:"dpop_bound_access_tokens,omitempty"`
	RequirePAR                       bool            `json:"require_pushed_authorization_requests,omitempty"`
}

// registrationRequest is the body of a registration (RFC 7591 §3.1) or
// of an update (RFC 7592 §2.2), which also names the client and must not
// carry the values only the server sets.
type registrationRequest struct {
	clientMetadata
	ClientID                string          `json:"client_id,omitempty"`
	ClientSecret            string          `json:"client_secret,omitempty"`
	RegistrationAccessToken json.RawMessage `json:"registration_access_token,omitempty"`
	RegistrationClientURI   json.RawMessage `json:"registration_client_uri,omitempty"`
	ClientIDIssuedAt        json.RawMessage `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   json.RawMessage `json:"client_secret_expires_at,omitempty"`
}

// registrationResponse is the client information response (RFC 7591
// §3.2.1, RFC 7592 §3).
type registrationResponse struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientIDIssuedAt is when the client was registered (Unix seconds).
	ClientIDIssuedAt int64 `json:"client_id_issued_at"`
	// ClientSecretExpiresAt is 0 (never) for a client with a secret
	// (RFC 7591 §3.2.1: required when a secret was issued).
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	clientMetadata
}

// metadataError is a refusal of client metadata (RFC 7591 §3.2.2): Code
// is invalid_redirect_uri or invalid_client_metadata, Description names
// the field.
type metadataError struct{ code, description string }

func (e *metadataError) Error() string { return e.code + ": " + e.description }

func invalidMetadata(format string, a ...any) *metadataError {
	return &metadataError{code: "invalid_client_metadata", description: fmt.Sprintf(format, a...)}
}

// decodeRegistration reads a registration request body. A malformed
// document or a member of the wrong type is invalid_client_metadata,
// naming the member.
func decodeRegistration(body []byte) (*registrationRequest, error) {
	var req registrationRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalidMetadata("%s has the wrong type (want %s)", te.Field, jsonKind(te.Type))
		}
		return nil, invalidMetadata("the body is not a JSON object")
	}
	if dec.More() {
		return nil, invalidMetadata("the body must be one JSON object")
	}
	return &req, nil
}

// jsonKind names the JSON type a metadata member wants, in the words of
// JSON (RFC 8259), not Go's.
func jsonKind(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	}
	return "a JSON object"
}

// applyMetadata sets the registrable settings of cl from m, with the
// defaults of RFC 7591 §2 for what m leaves out, so that an update
// replaces every value (RFC 7592 §2.2: omitted fields are treated as
// null). Settings outside the metadata (consent, groups, lifetimes,
// token exchange audiences) are left as they are.
func applyMetadata(cl *storage.Client, m *clientMetadata) error {
	grants := m.GrantTypes
	if len(grants) == 0 {
		grants = []string{string(oidc.GrantTypeCode)} // RFC 7591 §2 default
	}
	for _, rt := range m.ResponseTypes {
		if rt != string(oidc.ResponseTypeCode) {
			return invalidMetadata("response_types: %q is not supported (only code)", clientpolicy.Shorten(rt))
		}
	}
	// RFC 7591 §2.1: response type code needs the authorization_code
	// grant (and the grant implies the response type, the default).
	if len(m.ResponseTypes) > 0 && !slices.Contains(grants, string(oidc.GrantTypeCode)) {
		return invalidMetadata("response_types: code needs the grant type authorization_code in grant_types")
	}
	scopes := strings.Fields(m.Scope)
	if len(scopes) == 0 {
		scopes = strings.Fields(clientpolicy.DefaultScopes)
	}
	for _, s := range scopes {
		if !slices.Contains(knownScopes, s) {
			return invalidMetadata("scope: %q is not a scope this provider supports", clientpolicy.Shorten(s))
		}
	}
	jwks := ""
	if raw := bytes.TrimSpace(m.JWKS); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return invalidMetadata("jwks must be a JSON Web Key Set object")
		}
		jwks = string(raw)
	}
	cl.RedirectURIs = m.RedirectURIs
	cl.AuthMethod = cmpOr(m.TokenEndpointAuthMethod, storage.AuthMethodBasic) // RFC 7591 §2 default
	cl.GrantTypes = grants
	cl.Name = cmpOr(m.ClientName, cl.ID)
	cl.Scopes = scopes
	cl.JWKS, cl.JWKSURI = jwks, m.JWKSURI
	cl.PostLogoutRedirectURIs = m.PostLogoutRedirectURIs
	cl.BackchannelLogoutURI = m.BackchannelLogoutURI
	cl.BackchannelLogoutSessionRequired = m.BackchannelLogoutSessionRequired
	cl.IDTokenSigningAlg = m.IDTokenSignedResponseAlg
	cl.ApplicationType = cmpOr(m.ApplicationType, storage.ApplicationWeb)
	cl.DPoPBoundAccessTokens = m.DPoPBoundAccessTokens
	cl.RequirePAR = m.RequirePAR
	return nil
}

// cmpOr is v, or def when v is empty.
func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// policyMetadataError turns the client policy's problems into one
// registration error (RFC 7591 §3.2.2): invalid_redirect_uri when a
// redirect URI is among them, else invalid_client_metadata; the
// description lists each problem under its field.
func policyMetadataError(fe storage.FieldErrors) error {
	if len(fe) == 0 {
		return nil
	}
	code := "invalid_client_metadata"
	parts := make([]string, len(fe))
	for i, e := range fe {
		if e.Field == clientpolicy.FieldRedirectURIs {
			code = "invalid_redirect_uri"
		}
		parts[i] = e.Error()
	}
	return &metadataError{code: code, description: strings.Join(parts, "; ")}
}

// metadataOf is the registered metadata of cl.
func metadataOf(cl *storage.Client) clientMetadata {
	m := clientMetadata{
		RedirectURIs: cl.RedirectURIs, TokenEndpointAuthMethod: cl.AuthMethod, GrantTypes: cl.GrantTypes,
		ClientName: cl.Name, Scope: scopeString(cl.Scopes), JWKSURI: cl.JWKSURI,
		PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs, BackchannelLogoutURI: cl.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: cl.BackchannelLogoutSessionRequired,
		IDTokenSignedResponseAlg:         cmpOr(cl.IDTokenSigningAlg, string(defaultIDTokAlg)),
		ApplicationType:                  cl.ApplicationType, DPoPBoundAccessTokens: cl.DPoPBoundAccessTokens,
		RequirePAR: cl.RequirePAR, ResponseTypes: []string{},
	}
	if cl.HasGrant(string(oidc.GrantTypeCode)) {
		m.ResponseTypes = []string{string(oidc.ResponseTypeCode)}
	}
	if cl.JWKS != "" {
		m.JWKS = json.RawMessage(cl.JWKS)
	}
	return m
}
