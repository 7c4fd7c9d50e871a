package op

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
)

// Signed request objects (JAR, RFC 9101; OIDC Core §6.1): the client
// sends its authorization request as a JWT signed with a key it
// registered (jwks or jwks_uri, the keys of private_key_jwt), by value in
// the `request` parameter at /authorize or /par. A request_uri is
// accepted only when /par issued it (par.go): the provider never fetches
// one (request_uri_parameter_supported stays false).

// Request object limits (project choices).
const (
	// maxRequestObjectBytes bounds the `request` parameter; a GET's whole
	// query is at most maxQueryBytes.
	maxRequestObjectBytes = 6 << 10
	// maxRequestObjectLifetime bounds how far ahead a request object's
	// exp may lie (RFC 9101 §10.2 leaves freshness to the server; FAPI 2.0
	// uses 60 minutes): a captured object is useless after it.
	maxRequestObjectLifetime = time.Hour
)

// errRequestObjectInvalid is the invalid_request_object error (RFC 9101 §7.1)
// with a fixed description; input is never reflected.
func errRequestObjectInvalid(desc string) *oidc.Error {
	return &oidc.Error{ErrorType: "invalid_request_object", Description: desc}
}

// requestObjectTypes are the accepted `typ` headers: RFC 9101 §10.8
// recommends oauth-authz-req+jwt; objects made before it say JWT or
// nothing. Another explicit type (a DPoP proof, an access token) is
// refused, so a JWT made for something else is never taken for a request.
var requestObjectTypes = []string{"", "jwt", "oauth-authz-req+jwt", "application/oauth-authz-req+jwt"}

// jwtClaims are the registered claims a request object is checked for
// (RFC 9101 §4, §6.3; RFC 7519 §4.1).
type jwtClaims struct {
	Issuer   string        `json:"iss"`
	Audience oidc.Audience `json:"aud"`
	Expiry   *json.Number  `json:"exp"`
	IssuedAt *json.Number  `json:"iat"`
	NotBef   *json.Number  `json:"nbf"`
}

// registeredJWTClaims are the JWT claims of a request object that are not
// authorization request parameters.
var registeredJWTClaims = []string{"iss", "aud", "exp", "iat", "nbf", "jti", "sub"}

// requestObjectParams verifies the request object raw for client c and
// returns the authorization request it carries. outer are the parameters
// sent beside it. verified reports that the signature was checked with
// one of c's keys: only then may the object's own redirect_uri receive an
// error. The checks (RFC 9101 §6.2, §6.3; RFC 8725):
//   - a compact JWS (an encrypted object is not supported), at most
//     maxRequestObjectBytes, an allowed algorithm (assertionAlgs: never
//     none or HS*), and a typ, when present, of a request object;
//   - signed with one of c's registered keys (verifyWithClientKeys);
//   - iss = client_id, aud names this issuer, exp present, not passed and
//     at most maxRequestObjectLifetime ahead, nbf and iat not in the future;
//   - client_id and response_type, when inside too, equal the outer ones;
//     request and request_uri are not inside (RFC 9101 §4).
//
// The returned parameters are the object's only (RFC 9101 §6.3: the
// parameters outside it are ignored) plus client_id.
func (p *Provider) requestObjectParams(ctx context.Context, c *storage.Client, raw string, outer url.Values) (params url.Values, verified bool, oerr *oidc.Error) {
	if c.JWKS == "" && c.JWKSURI == "" {
		return nil, false, oidc.ErrRequestNotSupported().WithDescription("the client has no registered keys to sign request objects with")
	}
	if len(raw) > maxRequestObjectBytes || strings.Count(raw, ".") != 2 {
		return nil, false, errRequestObjectInvalid("the request object is too large or not a signed JWT")
	}
	jws, err := jose.ParseSigned(raw, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, false, errRequestObjectInvalid("the request object is malformed or uses an algorithm that is not allowed")
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string)
	if !containsFold(requestObjectTypes, typ) {
		return nil, false, errRequestObjectInvalid("the request object has the wrong typ")
	}
	payload, err := p.verifyWithClientKeys(ctx, c, jws)
	if err != nil {
		if !errors.Is(err, errClientAuthFailed) {
			p.log.WarnContext(ctx, "client keys unavailable", "client_id", c.ID, "err", err)
		}
		return nil, false, errRequestObjectInvalid("the request object's signature does not verify with the client's keys")
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	var all map[string]any
	if err := dec.Decode(&all); err != nil {
		return nil, false, errRequestObjectInvalid("the request object's payload is not a JSON object")
	}
	params, oerr = requestObjectValues(all)
	if oerr != nil {
		return params, true, oerr
	}
	if oerr := p.checkRequestObjectClaims(payload, c, outer, params); oerr != nil {
		return params, true, oerr
	}
	params.Set("client_id", c.ID)
	return params, true, nil
}

// checkRequestObjectClaims checks a verified object's registered claims
// and its client_id and response_type against the outer parameters.
func (p *Provider) checkRequestObjectClaims(payload []byte, c *storage.Client, outer, params url.Values) *oidc.Error {
	var cl jwtClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return errRequestObjectInvalid("the request object's registered claims are malformed")
	}
	now := p.now()
	exp, ok := numericDate(cl.Expiry)
	switch {
	case cl.Issuer != c.ID:
		return errRequestObjectInvalid("the request object's iss is not the client")
	case !slices.Contains(cl.Audience, p.issuer):
		return errRequestObjectInvalid("the request object's aud does not name this issuer")
	case !ok:
		return errRequestObjectInvalid("the request object has no valid exp")
	case !now.Before(exp.Add(clockLeeway)):
		return errRequestObjectInvalid("the request object has expired")
	case exp.After(now.Add(maxRequestObjectLifetime + clockLeeway)):
		return errRequestObjectInvalid("the request object's exp lies too far ahead")
	}
	for _, n := range []*json.Number{cl.NotBef, cl.IssuedAt} {
		if t, ok := numericDate(n); n != nil && (!ok || t.After(now.Add(clockLeeway))) {
			return errRequestObjectInvalid("the request object is not valid yet")
		}
	}
	if id := params.Get("client_id"); id != "" && id != c.ID {
		return errRequestObjectInvalid("client_id inside the request object does not match")
	}
	if rt, ok := single(outer, "response_type"); !ok || (outer.Has("response_type") && rt != params.Get("response_type")) {
		return errRequestObjectInvalid("response_type outside the request object does not match the one inside")
	}
	return nil
}

// requestObjectValues turns the object's claims into authorization request
// parameters: strings as they are, numbers (max_age) in decimal, and the
// `claims` member, a JSON object, as its JSON text (OIDC Core §6.1).
// Anything else is refused, and so are request and request_uri inside.
func requestObjectValues(all map[string]any) (url.Values, *oidc.Error) {
	v := url.Values{}
	for k, x := range all {
		if slices.Contains(registeredJWTClaims, k) {
			continue
		}
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		case json.Number:
			if _, err := strconv.ParseUint(x.String(), 10, 31); err != nil {
				return nil, errRequestObjectInvalid("a numeric parameter in the request object is not a non-negative integer")
			}
			v.Set(k, x.String())
		case map[string]any:
			if k != "claims" {
				return nil, errRequestObjectInvalid("a parameter in the request object has the wrong type")
			}
			b, err := json.Marshal(x)
			if err != nil {
				return nil, errRequestObjectInvalid("the claims member of the request object cannot be read")
			}
			v.Set(k, string(b))
		default:
			return nil, errRequestObjectInvalid("a parameter in the request object has the wrong type")
		}
	}
	if v.Has("request") || v.Has("request_uri") {
		return nil, errRequestObjectInvalid("request and request_uri must not be inside a request object")
	}
	return v, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// resolveRequestObject replaces an authorization request that carries a
// request object by value with the object's parameters (RFC 9101 §5, §6.3).
// A request without one, or one /authorize refuses anyway (request
// repeated, request beside request_uri, a client without keys, which
// parseAuthParams answers request_not_supported at the registered
// redirect URI), is returned unchanged. An unknown or disabled client, or
// an object whose signature does not verify, is shown on the error page:
// nothing in the request can be trusted as a redirect target (RFC 9101
// §6.2, RFC 6749 §4.1.2.1). A verified object whose other checks fail is
// answered invalid_request_object at its own redirect_uri when that is
// registered for the client (RFC 9101 §7.1).
func (p *Provider) resolveRequestObject(ctx context.Context, outer url.Values) (url.Values, error) {
	raw, ok := single(outer, "request")
	if !ok || raw == "" || outer.Has("request_uri") {
		return outer, nil
	}
	clientID, ok := single(outer, "client_id")
	if !ok || clientID == "" {
		return nil, badRequest(invalidSignInT, badClientParamsD)
	}
	c, err := p.activeClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c.JWKS == "" && c.JWKSURI == "" {
		return outer, nil
	}
	params, verified, oerr := p.requestObjectParams(ctx, c, raw, outer)
	if oerr == nil {
		return params, nil
	}
	if verified {
		ru, ok1 := single(params, "redirect_uri")
		state, ok2 := single(params, "state")
		if ok1 && ru != "" && redirectURIAllowed(c, ru) {
			return nil, &clientError{redirectURI: ru, state: state, e: oerr,
				echoState: ok2 && len(state) <= maxParamLength && utf8.ValidString(state)}
		}
	}
	return nil, &pageError{status: http.StatusBadRequest, title: invalidSignInT, detail: requestObjectD,
		err: errors.New(oerr.Description)}
}
