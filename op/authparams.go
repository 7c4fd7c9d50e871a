package op

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"github.com/monban-idp/monban/storage"
)

// maxQueryBytes bounds the authorization request's query string (ASVS 15.2.2).
const maxQueryBytes = 8 << 10

// Caps on what an authorization request carries into the sealed pending
// request (package storage/pending) and the store. Every parameter is at
// most maxParamLength (2048) bytes, which is state's cap (checklist A7);
// these are tighter. OIDC Core §3.1.2.1 sets no length for nonce or
// login_hint: relying parties send 32 to 64 characters of nonce, and a
// login hint is a username or an e-mail address (the sign-in page shows
// none longer than 256 bytes). With a registered redirect URI of at most
// 2048 bytes and a client ID of 100 characters, a request at every cap
// seals to about 7 KiB (pending.MaxSealedLen bounds it).
const (
	maxNonceBytes     = 512
	maxLoginHintBytes = 256
)

// singleValued are the authorization request parameters that must not be
// repeated (RFC 6749 §3.1: "Request and response parameters MUST NOT be
// included more than once").
var singleValued = []string{
	"response_type", "scope", "state", "nonce", "response_mode", "prompt", "max_age",
	"code_challenge", "code_challenge_method", "id_token_hint", "login_hint",
	"request", "request_uri", "ui_locales", "acr_values", "display", "claims", paramDPoPJKT,
}

var (
	// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is exactly 43 characters.
	s256Challenge = newCharRun(43, 43, "_-")
	// RFC 7636 §4.1: 43 to 128 unreserved characters.
	codeVerifier = newCharRun(43, 128, "._~-")
)

// charRun matches a string of min to max bytes that are ASCII letters,
// digits or one of a few extra characters: the PKCE shape checks, which
// every authorization and token request of the SSO flow runs, at a
// fraction of a regular expression's cost (issue #21).
type charRun struct {
	min, max int
	ok       [256]bool
}

func newCharRun(min, max int, extra string) *charRun {
	r := &charRun{min: min, max: max}
	for c := range 256 {
		r.ok[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
	}
	for i := range len(extra) {
		r.ok[extra[i]] = true
	}
	return r
}

// MatchString reports whether s is such a run.
func (r *charRun) MatchString(s string) bool {
	if len(s) < r.min || len(s) > r.max {
		return false
	}
	for i := range len(s) {
		if !r.ok[s[i]] {
			return false
		}
	}
	return true
}

// Why readAuthorizeParams refused a request; the cause of a malformed one
// is wrapped for the log only.
var (
	errParamsTooLarge   = errors.New("request too large")
	errParamsUnreadable = errors.New("request parameters malformed")
	errParamsMethod     = errors.New("method not GET or POST")
)

// readAuthorizeParams returns the request's parameters: the query for GET,
// the form body for POST (OIDC Core §3.1.2.1 requires both). Errors here are
// shown on the provider's error page: the client is not known yet. They
// wrap errParamsTooLarge, errParamsUnreadable or errParamsMethod.
func readAuthorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxQueryBytes {
			return nil, errParamsTooLarge
		}
		v, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errParamsUnreadable, err)
		}
		return v, nil
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBodyBytes)
		if err := r.ParseForm(); err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, fmt.Errorf("%w: %w", errParamsTooLarge, err)
			}
			return nil, fmt.Errorf("%w: %w", errParamsUnreadable, err)
		}
		return r.PostForm, nil
	}
	return nil, errParamsMethod
}

// paramsError is the page for a request readAuthorizeParams refused,
// titled for the endpoint; its detail names the problem, never the Go
// error (which is kept as the cause, for the log).
func paramsError(err error, title, tooLarge, unreadable, method string) error {
	detail := unreadable
	switch {
	case errors.Is(err, errParamsTooLarge):
		detail = tooLarge
	case errors.Is(err, errParamsMethod):
		detail = method
	}
	return &pageError{status: http.StatusBadRequest, title: title, detail: detail, err: err}
}

// single returns the only value of key: "" when absent, ok=false when repeated.
func single(v url.Values, key string) (string, bool) {
	vals := v[key]
	if len(vals) > 1 {
		return "", false
	}
	if len(vals) == 0 {
		return "", true
	}
	return vals[0], true
}

// authParams is a syntactically valid authorization request for a known
// client and a registered redirect URI.
type authParams struct {
	state        string
	stateOK      bool // false when state must not be echoed (invalid)
	scopes       []string
	nonce        string
	prompt       []string
	maxAge       *time.Duration
	challenge    string
	method       string
	idTokenHint  string
	loginHint    string
	uiLocales    []string
	responseMode string
	acr          string // the class requested (requestedACR)
	// claims are those asked for one by one (claimsRequest.individual).
	claims storage.RequestedClaims
	// subject is the value of the ID token's sub claim request, if any.
	subject string
}

// parseAuthParams validates everything after client_id and redirect_uri.
// Its errors go back to the client's redirect URI (RFC 6749 §4.1.2.1).
// Descriptions are fixed strings: input is never reflected.
func parseAuthParams(v url.Values, c *storage.Client) (*authParams, *oidc.Error) {
	a := &authParams{}
	a.state, a.stateOK = single(v, "state")
	if a.stateOK && (!utf8.ValidString(a.state) || len(a.state) > maxParamLength) {
		a.stateOK = false
		return a, oidc.ErrInvalidRequest().WithDescription("state is too long or not valid UTF-8")
	}
	for _, k := range singleValued {
		if len(v[k]) > 1 {
			return a, oidc.ErrInvalidRequest().WithDescription("a parameter is included more than once")
		}
	}
	for k, vals := range v {
		if len(vals[0]) > maxParamLength || !utf8.ValidString(vals[0]) {
			return a, oidc.ErrInvalidRequest().WithDescription("parameter %s is too long or not valid UTF-8", safeName(k))
		}
	}
	// OIDC Core §6, RFC 9101: a request object by value was replaced by
	// its verified parameters before this (resolveRequestObject), and a
	// request_uri issued by /par (RFC 9126) by its pushed parameters
	// (pushedParams). What is left: a request object from a client with
	// no keys to check it with, and request_uri values of the client's
	// choosing, which the provider never fetches.
	switch {
	case v.Get("request") != "" && v.Get("request_uri") != "":
		return a, oidc.ErrInvalidRequest().WithDescription("request and request_uri must not both be used")
	case v.Get("request") != "":
		return a, oidc.ErrRequestNotSupported().WithDescription("the client has no registered keys to sign request objects with")
	case v.Get("request_uri") != "":
		return a, &oidc.Error{ErrorType: "request_uri_not_supported", Description: "only request_uri values issued by the pushed authorization request endpoint are accepted"}
	}
	switch rt := v.Get("response_type"); {
	case rt == "":
		return a, oidc.ErrInvalidRequest().WithDescription("response_type is required")
	case rt != string(oidc.ResponseTypeCode):
		return a, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
	case !c.HasGrant(string(oidc.GrantTypeCode)):
		return a, oidc.ErrUnauthorizedClient().WithDescription("client may not use the authorization code grant")
	}
	a.responseMode = v.Get("response_mode")
	if a.responseMode != "" && a.responseMode != "query" {
		return a, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	var err *oidc.Error
	if a.scopes, err = grantedScopes(strings.Fields(v.Get("scope")), c); err != nil {
		return a, err
	}
	if a.prompt, err = parsePrompt(v.Get("prompt")); err != nil {
		return a, err
	}
	if ma := v.Get("max_age"); ma != "" {
		n, convErr := strconv.ParseUint(ma, 10, 31)
		if convErr != nil {
			return a, oidc.ErrInvalidRequest().WithDescription("max_age must be a non-negative integer")
		}
		d := time.Duration(n) * time.Second
		a.maxAge = &d
	}
	if err := a.parsePKCE(v, c); err != nil {
		return a, err
	}
	a.nonce = v.Get("nonce")
	a.idTokenHint = v.Get("id_token_hint")
	a.loginHint = v.Get("login_hint")
	a.uiLocales = parseUILocales(v.Get("ui_locales"))
	cr, err := parseClaimsParam(v.Get("claims")) // OIDC Core §5.5 (claimsparam.go)
	if err != nil {
		return a, err
	}
	if a.acr, err = requestedACR(v.Get("acr_values"), cr); err != nil {
		return a, err
	}
	a.claims = cr.individual(c, a.scopes)
	var ok bool
	if a.subject, ok = cr.subject(); !ok {
		return a, oidc.ErrInvalidRequest().WithDescription("the sub claim request's value is not a string")
	}
	if len(a.nonce) > maxNonceBytes || len(a.loginHint) > maxLoginHintBytes {
		return a, oidc.ErrInvalidRequest().WithDescription("nonce or login_hint is too long")
	}
	return a, nil
}

// parsePKCE enforces S256-only PKCE (RFC 7636 §4.3, RFC 9700 §2.1.1):
// required for public clients, optional for confidential ones, and a
// challenge must be well formed so we never issue an unredeemable code.
func (a *authParams) parsePKCE(v url.Values, c *storage.Client) *oidc.Error {
	a.challenge, a.method = v.Get("code_challenge"), v.Get("code_challenge_method")
	switch {
	case a.challenge == "" && a.method != "":
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case a.challenge == "" && c.Public():
		return oidc.ErrInvalidRequest().WithDescription("PKCE code_challenge is required for public clients")
	case a.challenge == "":
		return nil
	case a.method != string(oidc.CodeChallengeMethodS256):
		// An absent method means "plain" (RFC 7636 §4.3), which we refuse.
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case !s256Challenge.MatchString(a.challenge):
		return oidc.ErrInvalidRequest().WithDescription("code_challenge is not a valid S256 challenge")
	}
	return nil
}

// grantedScopes keeps the known scopes the client may have. Unknown scopes
// are ignored (OIDC Core §3.1.2.1); a known scope the client is not allowed
// is an error (RFC 6749 §4.1.2.1 invalid_scope).
func grantedScopes(requested []string, c *storage.Client) ([]string, *oidc.Error) {
	var out []string
	for _, s := range requested {
		if !slices.Contains(knownScopes, s) || slices.Contains(out, s) {
			continue
		}
		if !slices.Contains(c.Scopes, s) {
			return nil, oidc.ErrInvalidScope().WithDescription("the client may not request one of the scopes")
		}
		if s == scopeOfflineAccess && !c.HasGrant(string(oidc.GrantTypeRefreshToken)) {
			continue // offline access means refresh tokens; the client cannot use them
		}
		out = append(out, s)
	}
	return out, nil
}

// parsePrompt validates prompt (OIDC Core §3.1.2.1): "none" must be alone.
func parsePrompt(s string) ([]string, *oidc.Error) {
	vals := strings.Fields(s)
	for _, p := range vals {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, p) {
			return nil, oidc.ErrInvalidRequest().WithDescription("unsupported prompt value")
		}
	}
	if slices.Contains(vals, "none") && len(vals) > 1 {
		return nil, oidc.ErrInvalidRequest().WithDescription("prompt=none must not be combined with other values")
	}
	return vals, nil
}

// safeName returns a parameter name fit for error_description (RFC 6749
// §5.2 limits it to printable ASCII without " and \).
func safeName(k string) string {
	if len(k) > 40 {
		return "(long name)"
	}
	for _, r := range k {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return "(unprintable name)"
		}
	}
	return k
}

// Bounds on the ui_locales parameter: a preference, so extra or malformed
// tags are dropped rather than refused (OIDC Core §3.1.2.1 makes it
// OPTIONAL and advisory).
const (
	maxUILocales   = 8
	maxUILocaleLen = 35 // BCP 47 tags in practice stay well below this
)

// parseUILocales splits ui_locales, a space-separated list of BCP 47 tags
// in order of preference (OIDC Core §3.1.2.1), keeping at most
// maxUILocales well-formed ones; nil when none.
func parseUILocales(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if len(out) == maxUILocales {
			break
		}
		if len(f) > maxUILocaleLen {
			continue
		}
		if _, err := language.Parse(f); err != nil {
			continue
		}
		out = append(out, f)
	}
	return out
}
