package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/monban-idp/monban/web/view"
)

// SecurityHeaders sets the headers every HTML page needs (security
// checklist S8, S9) and puts a fresh CSP nonce into the request context
// (view.WithNonce), so components can mark the scripts they render:
//
//	Content-Security-Policy: default-src 'none'; script-src 'nonce-…'; style-src 'self';
//	  img-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none';
//	  report-uri /csp-report; report-to csp
//	Reporting-Endpoints: csp="/csp-report"
//	X-Frame-Options: DENY
//	Referrer-Policy: no-referrer
//	X-Content-Type-Options: nosniff
//	Cross-Origin-Opener-Policy: same-origin
//	Cache-Control: no-store
//
// It does not set Strict-Transport-Security; wrap with
// StrictTransportSecurity when the issuer is https.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := newNonce()
		setPageHeaders(w.Header(), nonce)
		next.ServeHTTP(w, r.WithContext(view.WithNonce(r.Context(), nonce)))
	})
}

// BaseHeaders sets the headers every response carries, HTML or not
// (checklist S9, A18; RFC 9700 §4.2.4): X-Content-Type-Options: nosniff, so
// no JSON or JWKS body is ever sniffed into something executable, and
// Referrer-Policy: no-referrer, so no URL with a code or state leaks in a
// Referer. Pages add the rest with SecurityHeaders.
func BaseHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		next.ServeHTTP(w, r)
	})
}

// The values BaseHeaders sets, built once: assigning a shared one-element
// slice is what Header.Set does minus the allocation (keys are in
// canonical form). Header.Add appends to a full slice, so it copies and
// never writes into these.
var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
)

// StrictTransportSecurity adds Strict-Transport-Security (one year,
// includeSubDomains) to every response. Use it only for https issuers.
func StrictTransportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

func setPageHeaders(hdr http.Header, nonce string) {
	hdr.Set("Content-Security-Policy", contentSecurityPolicy(nonce, ""))
	// The Reporting API endpoint report-to names (report-uri is for
	// browsers without it).
	hdr.Set("Reporting-Endpoints", cspReportEndpoint+`="`+CSPReportPath+`"`)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
}

func contentSecurityPolicy(nonce, extraFormAction string) string {
	scriptSrc := "'nonce-" + nonce + "'"
	if nonce == "" {
		scriptSrc = "'none'"
	}
	formAction := "'self'"
	if extraFormAction != "" {
		formAction += " " + extraFormAction
	}
	return "default-src 'none'; script-src " + scriptSrc + "; style-src 'self'; img-src 'self'; " +
		"form-action " + formAction + "; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
		"report-uri " + CSPReportPath + "; report-to " + cspReportEndpoint
}

// ensurePageHeaders sets the page headers unless SecurityHeaders already
// did (Fail may be called from handlers outside this package).
func ensurePageHeaders(w http.ResponseWriter, r *http.Request) *http.Request {
	if w.Header().Get("Content-Security-Policy") != "" {
		return r
	}
	nonce := newNonce()
	setPageHeaders(w.Header(), nonce)
	return r.WithContext(view.WithNonce(r.Context(), nonce))
}

// cspSource matches what redirectSource may put into the policy: a scheme,
// optionally followed by //host[:port]. Nothing else (no spaces, quotes,
// semicolons or commas) can reach the header.
var cspSource = regexp.MustCompile(`^[a-z][a-z0-9+.\-]*:(//[A-Za-z0-9.\-]+(:[0-9]+)?|//\[[0-9A-Fa-f:.]+\](:[0-9]+)?)?$`)

// redirectSource returns the CSP source expression for the origin of an
// authorization request's redirect URI: scheme://host[:port] for http(s),
// the bare scheme for private-use schemes of native apps. It returns ""
// when the URI cannot be expressed safely.
func redirectSource(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	src := scheme + ":"
	if scheme == "http" || scheme == "https" {
		if u.Host == "" {
			return ""
		}
		src = scheme + "://" + u.Host
	}
	if !cspSource.MatchString(src) {
		return ""
	}
	return src
}

// AllowFormAction widens form-action on this response to the origin of an
// already validated redirect URI (a client's registered redirect_uri or
// post_logout_redirect_uri). Use it on pages whose form submission ends, via
// redirects, at the application: Chromium applies form-action to every
// redirect that follows a form submission, so after sign-in or consent the
// chain 303 → callback → redirect_uri would otherwise be blocked. Call it
// before writing the body, inside SecurityHeaders.
func AllowFormAction(w http.ResponseWriter, r *http.Request, redirectURI string) {
	src := redirectSource(redirectURI)
	if src == "" {
		return
	}
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy(view.Nonce(r.Context()), src))
}
