package op

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
)

// The claims request parameter (OIDC Core §5.5).
//
// What it releases (a project choice, conservative): the claims the
// granted scopes release are in the ID token and from UserInfo as before.
// Beyond them, a claim asked for one by one, in the id_token or userinfo
// member, is released there when
//   - it is one of storage.RequestableClaims (the standard claims of
//     §5.1 monban serves, and groups; claim-mapped custom attributes
//     follow their scopes only),
//   - the client is registered for the scope that releases it (§5.4): a
//     client never sees a claim it could not get by asking for the whole
//     scope, and
//   - the client does not require consent: consent is given for scopes
//     (the consent page lists them), so a claim outside them has not been
//     agreed to.
//
// The user must have the claim (empty claims are omitted, §5.3.2).
// `essential` and `value(s)` change nothing for these claims (§5.5.1: not
// returning a requested claim is not an error); for the ID token's `acr`
// they are honoured (§5.5.1.1, requestedACR), and a `sub` value names the
// only user the request may be answered for (§5.5.1, like an
// id_token_hint: authorize.go and callback.go). Whether a claim is allowed is
// decided again whenever a token is issued, so a client whose scopes or
// consent setting change meanwhile loses what it may no longer get.

// maxClaimsEntries bounds the claims one member of a claims request may
// name (the parameter itself is at most maxParamLength bytes).
const maxClaimsEntries = 64

// claimsRequest is the claims parameter (OIDC Core §5.5): for the ID
// token and UserInfo, the claims asked for, each null (asked for, nothing
// more) or an individual claim request. Other members are ignored
// (§5.5: "other members MAY be present").
type claimsRequest struct {
	IDToken  map[string]*claimRequest `json:"id_token"`
	UserInfo map[string]*claimRequest `json:"userinfo"`
}

// claimRequest is an individual claim request (§5.5.1).
type claimRequest struct {
	Essential bool              `json:"essential"`
	Value     json.RawMessage   `json:"value"`
	Values    []json.RawMessage `json:"values"`
}

// errClaimsParam is invalid_request for a claims parameter that is not a
// claims request (§5.5; RFC 6749 §4.1.2.1).
func errClaimsParam() *oidc.Error {
	return oidc.ErrInvalidRequest().WithDescription("claims is not a valid claims request object")
}

// parseClaimsParam parses the claims parameter strictly: a JSON object
// whose id_token and userinfo members, when present, are objects of at
// most maxClaimsEntries claims, each null or an object whose essential is
// a boolean and whose values is an array. An empty parameter is no
// request.
func parseClaimsParam(s string) (*claimsRequest, *oidc.Error) {
	cr := &claimsRequest{}
	if s == "" {
		return cr, nil
	}
	trimmed := bytes.TrimSpace([]byte(s))
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errClaimsParam()
	}
	if err := json.Unmarshal(trimmed, cr); err != nil {
		return nil, errClaimsParam()
	}
	if len(cr.IDToken) > maxClaimsEntries || len(cr.UserInfo) > maxClaimsEntries {
		return nil, errClaimsParam()
	}
	return cr, nil
}

// subject is the value of the ID token's `sub` claim request: OIDC Core
// §5.5.1 lets a client name the user it wants a response for, and then
// the provider "MUST NOT reply with an ID Token or Access Token for a
// different user". ok is false when the value is not a string.
func (cr *claimsRequest) subject() (string, bool) {
	c := cr.IDToken["sub"]
	if c == nil || len(c.Value) == 0 {
		return "", true
	}
	var sub string
	if err := json.Unmarshal(c.Value, &sub); err != nil || sub == "" {
		return "", false
	}
	return sub, true
}

// acrValues are the values of an acr claim request: value and values,
// which must be JSON strings (§5.5.1.1: "the acr values requested").
func (r *claimRequest) acrValues() ([]string, bool) {
	var out []string
	raws := r.Values
	if len(r.Value) > 0 {
		raws = append(slices.Clone(raws), r.Value)
	}
	for _, raw := range raws {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// individual returns the claims of cr that client c gets one by one
// beyond the granted scopes (see the top of this file), in
// storage.RequestableClaims order.
func (cr *claimsRequest) individual(c *storage.Client, granted []string) storage.RequestedClaims {
	pick := func(m map[string]*claimRequest) []string {
		var out []string
		for _, name := range storage.RequestableClaims {
			if _, asked := m[name]; asked && !slices.Contains(granted, scopeOfClaim(name)) {
				out = append(out, name)
			}
		}
		return allowedIndividually(c, out)
	}
	return storage.RequestedClaims{IDToken: pick(cr.IDToken), UserInfo: pick(cr.UserInfo)}
}

// allowedIndividually keeps the names c may get one by one now.
func allowedIndividually(c *storage.Client, names []string) []string {
	if c == nil || c.RequireConsent || len(names) == 0 {
		return nil
	}
	var out []string
	for _, n := range names {
		if slices.Contains(storage.RequestableClaims, n) && slices.Contains(c.Scopes, scopeOfClaim(n)) {
			out = append(out, n)
		}
	}
	return out
}

// scopeOfClaim is the scope that releases a requestable claim (OIDC Core
// §5.4; groups for groups).
func scopeOfClaim(name string) string {
	switch name {
	case "email", "email_verified":
		return scopeEmail
	case "phone_number", "phone_number_verified":
		return scopePhone
	case "address":
		return scopeAddress
	case "groups":
		return scopeGroups
	}
	return scopeProfile
}

// claimsWith are the claims of u the scopes release plus the named ones
// (already checked with allowedIndividually).
func claimsWith(u *storage.User, scopes, names []string) userClaims {
	out := claimsFor(u, scopes)
	if len(names) == 0 {
		return out
	}
	var extra []string
	for _, n := range names {
		extra = append(extra, scopeOfClaim(n))
	}
	all := claimsFor(u, extra)
	dst, src := reflect.ValueOf(&out).Elem(), reflect.ValueOf(all)
	for i := range dst.NumField() {
		name, _, _ := strings.Cut(dst.Type().Field(i).Tag.Get("json"), ",")
		if slices.Contains(names, name) && dst.Field(i).IsZero() {
			dst.Field(i).Set(src.Field(i))
		}
	}
	return out
}
