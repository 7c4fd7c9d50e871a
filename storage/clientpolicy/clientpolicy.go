// Package clientpolicy holds the registration rules for OAuth clients:
// what the CLI (cmd/monban client add/update) and the admin console
// (web/admin) both check before a client is stored. The checks are pure
// functions of a storage.Client.
package clientpolicy

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
)

// Client registration rules.
const (
	// MaxClientIDLen bounds a client ID, in characters.
	MaxClientIDLen = 100
	// MaxClientNameLen bounds a client's display name, in characters.
	MaxClientNameLen = 200
	// DefaultGrants are the grant types a new client gets unless told
	// otherwise (comma-separated).
	DefaultGrants = "authorization_code,refresh_token"
	// DefaultScopes are the scopes a new client gets unless told otherwise
	// (space-separated).
	DefaultScopes = "openid profile email"
	// Token lifetimes an operator may set per client. Access tokens stay
	// short (checklist J5: at most 10 minutes); a refresh token's lifetime
	// is also its family's absolute lifetime (checklist T12: at most 30
	// days).

	// MinAccessTokenTTL is the shortest per-client access-token lifetime.
	MinAccessTokenTTL = 30 * time.Second
	// MaxAccessTokenTTL is the longest per-client access-token lifetime.
	MaxAccessTokenTTL = 10 * time.Minute
	// MinRefreshTokenTTL is the shortest per-client refresh-token lifetime.
	MinRefreshTokenTTL = 5 * time.Minute
	// MaxRefreshTokenTTL is the longest per-client refresh-token lifetime.
	MaxRefreshTokenTTL = 30 * 24 * time.Hour
)

// SupportedGrants are the grant types every client kind may use. Token
// exchange is registrable too (RegistrableGrants), where its audiences
// can be set: the CLI, the admin console and API, dynamic registration.
var SupportedGrants = []string{"authorization_code", "refresh_token", "client_credentials", GrantDeviceCode}

// RegistrableGrants returns every grant type a client can be registered
// with: SupportedGrants and GrantTokenExchange.
func RegistrableGrants() []string { return append(slices.Clone(SupportedGrants), GrantTokenExchange) }

// GrantDeviceCode is the device authorization grant (RFC 8628 §3.4), for
// public and confidential clients alike; it needs no redirect URI.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// The fields a storage.FieldError of ValidateClient names: the domain's
// names (those of OIDC Dynamic Client Registration §2 where it has one),
// never a command-line flag or a form label.
const (
	FieldID                   = "client_id"
	FieldName                 = "client_name"
	FieldAuthMethod           = "token_endpoint_auth_method"
	FieldApplicationType      = "application_type"
	FieldRedirectURIs         = "redirect_uris"
	FieldPostLogoutURIs       = "post_logout_redirect_uris"
	FieldBackchannelLogoutURI = "backchannel_logout_uri"
	FieldAccessTokenTTL       = "access_token_ttl"
	FieldIDTokenTTL           = "id_token_ttl"
	FieldRefreshTokenTTL      = "refresh_token_ttl"
	FieldIDTokenAlg           = "id_token_signed_response_alg"
	FieldGrantTypes           = "grant_types"
	FieldScopes               = "scope"
)

// ValidateClient checks a client before it is registered or after it was
// changed, and reports every problem, each under its field, in words that
// name no door (the CLI and the console present them). Text fields must
// be valid UTF-8 without control characters (NUL included: PostgreSQL
// cannot store it). opts pass deployment settings (AllowPrivateBackchannel).
// An empty result means the client is acceptable.
func ValidateClient(cl *storage.Client, opts ...Option) storage.FieldErrors {
	var errs storage.FieldErrors
	addTo := func(f, code string, args map[string]any, format string, a ...any) {
		errs.Put(f, storage.Problem(code, args, format, a...))
	}

	switch {
	case cl.ID == "":
		addTo(FieldID, "policy.required", nil, "a client ID is required")
	case !utf8.ValidString(cl.ID):
		addTo(FieldID, "policy.text.not_utf8", nil, "client ID is not valid UTF-8")
	case utf8.RuneCountInString(cl.ID) > MaxClientIDLen:
		addTo(FieldID, "policy.text.too_long", map[string]any{"Max": MaxClientIDLen}, "client ID is longer than %d characters", MaxClientIDLen)
	case strings.ContainsFunc(cl.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		addTo(FieldID, "policy.text.space_or_control", nil, "client ID %q must not contain white space or control characters", cl.ID)
	}
	switch {
	case strings.TrimSpace(cl.Name) == "":
		addTo(FieldName, "policy.required", nil, "a client name is required")
	case !utf8.ValidString(cl.Name):
		addTo(FieldName, "policy.text.not_utf8", nil, "client name is not valid UTF-8")
	case utf8.RuneCountInString(cl.Name) > MaxClientNameLen:
		addTo(FieldName, "policy.text.too_long", map[string]any{"Max": MaxClientNameLen}, "client name is longer than %d characters", MaxClientNameLen)
	case strings.ContainsFunc(cl.Name, unicode.IsControl):
		addTo(FieldName, "policy.text.control", nil, "client name %q must not contain control characters", cl.Name)
	}
	errs.Put(FieldAuthMethod, authMethodProblem(cl.AuthMethod))
	if cl.ApplicationType != storage.ApplicationWeb && cl.ApplicationType != storage.ApplicationNative {
		addTo(FieldApplicationType, "policy.client.application_type", nil, "application type %q is not web or native", Shorten(cl.ApplicationType))
	}

	native := cl.ApplicationType == storage.ApplicationNative
	for _, p := range redirectProblems("redirect URI", cl.RedirectURIs, native) {
		errs.Put(FieldRedirectURIs, p)
	}
	for _, p := range redirectProblems("post-logout redirect URI", cl.PostLogoutRedirectURIs, native) {
		errs.Put(FieldPostLogoutURIs, p)
	}
	errs = append(errs, ValidateClientLogout(cl)...)
	errs.Put(FieldBackchannelLogoutURI, backchannelNetworkProblem(cl, opts))
	// OIDC Dynamic Client Registration §2 id_token_signed_response_alg: one
	// the provider signs with (never "none").
	if !slices.Contains([]string{"", "RS256", "ES256", "PS256", "EdDSA"}, cl.IDTokenSigningAlg) {
		addTo(FieldIDTokenAlg, "policy.client.id_token_alg", nil, "ID token algorithm %q is not one of RS256, ES256, PS256, EdDSA", Shorten(cl.IDTokenSigningAlg))
	}

	if len(cl.GrantTypes) == 0 {
		addTo(FieldGrantTypes, "policy.client.grants_required", map[string]any{"Example": DefaultGrants}, "at least one grant type is required, such as %s", DefaultGrants)
	}
	grants := RegistrableGrants()
	for i, g := range cl.GrantTypes {
		switch {
		case !slices.Contains(grants, g):
			addTo(FieldGrantTypes, "policy.client.grant_unsupported", map[string]any{"Grant": Shorten(g), "Supported": strings.Join(grants, ", ")},
				"grant type %q is not supported (supported: %s)", Shorten(g), strings.Join(grants, ", "))
		case slices.Contains(cl.GrantTypes[:i], g):
			addTo(FieldGrantTypes, "policy.client.grant_twice", map[string]any{"Grant": g}, "grant type %q is listed twice", g)
		}
	}
	if cl.HasGrant("refresh_token") && !cl.HasGrant("authorization_code") && !cl.HasGrant(GrantDeviceCode) {
		addTo(FieldGrantTypes, "policy.client.refresh_needs_code", map[string]any{"Device": GrantDeviceCode}, "grant type refresh_token needs authorization_code or %s", GrantDeviceCode)
	}
	// RFC 6749 §4.4: only confidential clients may use client_credentials
	// (checklist D6). A client with only that grant needs no redirect URI.
	if cl.HasGrant("client_credentials") && cl.Public() {
		addTo(FieldGrantTypes, "policy.client.credentials_public", nil, "grant type client_credentials needs a confidential client (one with a secret)")
	}
	if cl.HasGrant("authorization_code") && len(cl.RedirectURIs) == 0 {
		addTo(FieldRedirectURIs, "policy.client.redirect_required", nil, "at least one redirect URI is required for the authorization_code grant")
	}

	if len(cl.Scopes) == 0 {
		addTo(FieldScopes, "policy.client.scopes_required", map[string]any{"Example": DefaultScopes}, "at least one scope is required, such as %q", DefaultScopes)
	}
	for i, s := range cl.Scopes {
		switch {
		case !ValidScopeToken(s):
			addTo(FieldScopes, "policy.client.scope_invalid", map[string]any{"Scope": Shorten(s)}, "scope %q is not a valid scope token (RFC 6749 §3.3)", Shorten(s))
		case slices.Contains(cl.Scopes[:i], s):
			addTo(FieldScopes, "policy.client.scope_twice", map[string]any{"Scope": s}, "scope %q is listed twice", s)
		}
	}
	// Issue 20: admin scopes only for service accounts (admin.go).
	errs = append(errs, validateAdminScopes(cl)...)
	// Issue 15: the group rule and the claim mapping (people.go).
	errs = append(errs, validatePeopleFields(cl)...)
	// Issue 19: private_key_jwt keys (keys.go).
	var o options
	for _, f := range opts {
		f(&o)
	}
	errs = append(errs, validateKeys(cl, o)...)
	// Issue 19: require_pushed_authorization_requests (par.go).
	errs = append(errs, validatePAR(cl)...)
	// Issue 19: token exchange (exchange.go).
	errs = append(errs, validateExchange(cl)...)
	return errs
}

// ValidScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// printable ASCII except space, double quote and backslash.
func ValidScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// ValidateClientLogout checks the back-channel logout URI and the token
// lifetimes of a client.
func ValidateClientLogout(cl *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	if u := cl.BackchannelLogoutURI; u != "" {
		// Back-Channel Logout 1.0 §2.2: an absolute URI without fragment;
		// https except on loopback, like a redirect URI of a web client.
		if err := ValidateRedirectURI(u, false); err != nil {
			errs.Put(FieldBackchannelLogoutURI, uriProblem("back-channel logout URI", u, err))
		}
	}
	if d := cl.AccessTokenTTL; d != 0 && (d < MinAccessTokenTTL || d > MaxAccessTokenTTL) {
		errs.Put(FieldAccessTokenTTL, storage.Problem("policy.client.ttl_range",
			map[string]any{"Value": d.String(), "Min": MinAccessTokenTTL.String(), "Max": MaxAccessTokenTTL.String()},
			"access token lifetime %s is out of range (%s to %s)", d, MinAccessTokenTTL, MaxAccessTokenTTL))
	}
	if d := cl.IDTokenTTL; d < 0 {
		errs.Put(FieldIDTokenTTL, storage.Problem("policy.client.ttl_negative", map[string]any{"Value": d.String()},
			"ID token lifetime %s is negative", d))
	}
	if d := cl.RefreshTokenTTL; d != 0 && (d < MinRefreshTokenTTL || d > MaxRefreshTokenTTL) {
		errs.Put(FieldRefreshTokenTTL, storage.Problem("policy.client.ttl_range",
			map[string]any{"Value": d.String(), "Min": MinRefreshTokenTTL.String(), "Max": MaxRefreshTokenTTL.String()},
			"refresh token lifetime %s is out of range (%s to %s)", d, MinRefreshTokenTTL, MaxRefreshTokenTTL))
	}
	return errs
}

// Limits on registered redirect URIs (security checklist D5).
const (
	MaxRedirectURILen = 2048
	MaxRedirectURIs   = 20
)

// reservedParams are authorization (and logout) response parameters. A
// registered URI that already carries one would let the client confuse a
// value of its own with the provider's response.
var reservedParams = []string{
	"code", "state", "iss", "error", "error_description", "error_uri",
	"id_token", "access_token", "token_type", "expires_in", "session_state",
}

// dangerousSchemes can run script or read local data in a browser; they are
// named in the error instead of a generic "must use https".
var dangerousSchemes = []string{"javascript", "data", "vbscript", "file", "blob", "about", "filesystem"}

// ValidateRedirectURIs checks a client's list of redirect URIs of one kind
// ("redirect URI" or "post-logout redirect URI") and reports every problem,
// one per line. URIs are stored exactly as given: matching is by simple
// string comparison, so nothing is normalised here.
func ValidateRedirectURIs(kind string, uris []string, native bool) error {
	var errs []error
	for _, p := range redirectProblems(kind, uris, native) {
		errs = append(errs, errors.New(p.Message))
	}
	return errors.Join(errs...)
}

// redirectProblems is ValidateRedirectURIs as a list of problems.
func redirectProblems(kind string, uris []string, native bool) []storage.FieldError {
	var out []storage.FieldError
	if len(uris) > MaxRedirectURIs {
		out = append(out, storage.Problem("policy.uri.too_many", map[string]any{"Max": MaxRedirectURIs},
			"too many %ss: %d (at most %d)", kind, len(uris), MaxRedirectURIs))
	}
	seen := make(map[string]bool)
	for _, u := range uris {
		if seen[u] {
			out = append(out, storage.Problem("policy.uri.twice", map[string]any{"URI": Shorten(u)},
				"%s %q is listed twice", kind, Shorten(u)))
			continue
		}
		seen[u] = true
		if err := ValidateRedirectURI(u, native); err != nil {
			out = append(out, uriProblem(kind, u, err))
		}
	}
	return out
}

// ValidateRedirectURI checks one URI for registration (RFC 6749 §3.1.2,
// RFC 9700 §2.1 and §2.6, RFC 8252 §7, OIDC Registration §2). The error
// completes a sentence that starts with the URI: `"…" must use https`.
//
// Accepted: absolute https URIs; http on 127.0.0.1, [::1], localhost or a
// name under .localhost (see IsLoopbackHost); and,
// for native clients only, private-use schemes in reverse-domain form such
// as com.example.app:/cb. Always refused: fragments, wildcards, userinfo,
// backslashes, dot segments, whitespace, control and non-ASCII characters,
// response parameters in the query, and more than 2048 characters.
func ValidateRedirectURI(raw string, native bool) error {
	switch {
	case raw == "":
		return uriErr("policy.uri.empty", nil, "is empty")
	case len(raw) > MaxRedirectURILen:
		return uriErr("policy.uri.too_long", map[string]any{"Max": MaxRedirectURILen}, "is longer than %d characters", MaxRedirectURILen)
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }):
		return uriErr("policy.uri.characters", nil, "must not contain spaces, control or non-ASCII characters (percent-encode them)")
	case strings.Contains(raw, "*"):
		return uriErr("policy.uri.wildcard", nil, "must not contain wildcards (*): register every URI exactly")
	case strings.Contains(raw, `\`):
		return uriErr("policy.uri.backslash", nil, "must not contain backslashes")
	case strings.Contains(raw, "#"):
		return uriErr("policy.uri.fragment", nil, "must not contain a fragment (#)")
	}

	u, err := url.Parse(raw)
	if err != nil {
		return uriErr("policy.uri.invalid", nil, "is not a valid URI")
	}
	if !u.IsAbs() {
		return uriErr("policy.uri.relative", nil, "must be absolute, such as https://app.example.com/callback")
	}
	scheme := strings.ToLower(u.Scheme)
	if slices.Contains(dangerousSchemes, scheme) {
		return uriErr("policy.uri.scheme_forbidden", map[string]any{"Scheme": u.Scheme}, "uses the forbidden scheme %q", u.Scheme)
	}
	if u.User != nil {
		return uriErr("policy.uri.userinfo", nil, "must not contain user information (@)")
	}
	if u.Opaque != "" {
		return uriErr("policy.uri.opaque", nil, "must have a path starting with / after the scheme")
	}

	switch {
	case scheme == "https":
		if u.Host == "" || u.Hostname() == "" {
			return uriErr("policy.uri.host", nil, "must have a host")
		}
	case scheme == "http":
		if u.Host == "" || u.Hostname() == "" {
			return uriErr("policy.uri.host", nil, "must have a host")
		}
		if !IsLoopbackHost(u.Hostname()) {
			return uriErr("policy.uri.https", nil, "must use https (http only for 127.0.0.1, [::1], localhost or *.localhost)")
		}
	case !native:
		return uriErr("policy.uri.scheme_native_only", map[string]any{"Scheme": u.Scheme}, "must use https (the scheme %q is allowed only for native clients)", u.Scheme)
	case !strings.Contains(scheme, "."):
		return uriErr("policy.uri.scheme_reverse_domain", map[string]any{"Scheme": u.Scheme},
			"uses the scheme %q: a native client's private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)", u.Scheme)
	}

	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return uriErr("policy.uri.dot_segments", nil, "must not contain . or .. path segments")
		}
	}

	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return uriErr("policy.uri.query", nil, "has an invalid query")
		}
		for _, p := range reservedParams {
			if q.Has(p) {
				return uriErr("policy.uri.response_param", map[string]any{"Param": p}, "must not carry the response parameter %q in its query", p)
			}
		}
	}
	return nil
}

// URIError is the error of ValidateRedirectURI: the broken rule as a
// catalog key (Code, such as "policy.uri.https") with the values its
// text needs (Args); Error completes an English sentence that starts
// with the URI.
type URIError struct {
	Code string
	Args map[string]any
	msg  string
}

// Error returns the English end of the sentence.
func (e *URIError) Error() string { return e.msg }

func uriErr(code string, args map[string]any, format string, a ...any) error {
	return &URIError{Code: code, Args: args, msg: fmt.Sprintf(format, a...)}
}

// uriProblem files err of ValidateRedirectURI about uri as a problem
// whose text names the URI ({{.URI}}); kind starts the English message.
func uriProblem(kind, uri string, err error) storage.FieldError {
	p := storage.Problem("policy.uri.invalid", map[string]any{}, "%s %q %v", kind, Shorten(uri), err)
	var ue *URIError
	if errors.As(err, &ue) {
		p.Code = ue.Code
		for k, v := range ue.Args {
			p.Args[k] = v
		}
	}
	p.Args["URI"] = Shorten(uri)
	return p
}

// Shorten cuts s for use in an error message.
func Shorten(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// IsLoopbackHost reports whether host (without brackets or port) names the
// local machine: 127.0.0.1, ::1, localhost, or any name under .localhost
// such as app1.localhost. RFC 6761 §6.3 reserves localhost and every name
// below it for loopback, and the W3C Secure Contexts rules (§3.2, "potentially
// trustworthy?") treat http on them as secure because browsers resolve
// them to loopback themselves, never through DNS. Names are compared
// case-insensitively (RFC 4343); a trailing dot is not accepted, so the
// registered URI and the one the browser sends stay byte-identical.
//
// A back-channel logout URI on such a host is a loopback address to the
// provider too: its delivery is refused unless private networks are
// allowed (op's back-channel client checks the address it dials).
func IsLoopbackHost(host string) bool {
	if host == "127.0.0.1" || host == "::1" {
		return true
	}
	h := strings.ToLower(host)
	if h == "localhost" {
		return true
	}
	label, ok := strings.CutSuffix(h, ".localhost")
	return ok && validDNSLabels(label)
}

// validDNSLabels reports whether s is one or more dot-separated DNS labels
// of letters, digits and hyphens (RFC 1123 §2.1), none empty, none starting
// or ending with a hyphen, at most 63 characters each.
func validDNSLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
