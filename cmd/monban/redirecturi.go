package main

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Limits on registered redirect URIs (security checklist D5).
const (
	maxRedirectURILen = 2048
	maxRedirectURIs   = 20
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

// validateRedirectURIs checks a client's list of redirect URIs of one kind
// ("redirect URI" or "post-logout redirect URI") and reports every problem.
// URIs are stored exactly as given: matching is by simple string
// comparison, so nothing is normalised here.
func validateRedirectURIs(kind string, uris []string, native bool) error {
	var errs []error
	if len(uris) > maxRedirectURIs {
		errs = append(errs, fmt.Errorf("too many %ss: %d (at most %d)", kind, len(uris), maxRedirectURIs))
	}
	seen := make(map[string]bool)
	for _, u := range uris {
		if seen[u] {
			errs = append(errs, fmt.Errorf("%s %q is listed twice", kind, shorten(u)))
			continue
		}
		seen[u] = true
		if err := validateRedirectURI(u, native); err != nil {
			errs = append(errs, fmt.Errorf("%s %q %w", kind, shorten(u), err))
		}
	}
	return errors.Join(errs...)
}

// validateRedirectURI checks one URI for registration (RFC 6749 §3.1.2,
// RFC 9700 §2.1 and §2.6, RFC 8252 §7, OIDC Registration §2). The error
// completes a sentence that starts with the URI: `"…" must use https`.
//
// Accepted: absolute https URIs; http on 127.0.0.1, [::1] or localhost; and,
// for native clients only, private-use schemes in reverse-domain form such
// as com.example.app:/cb. Always refused: fragments, wildcards, userinfo,
// backslashes, dot segments, whitespace, control and non-ASCII characters,
// response parameters in the query, and more than 2048 characters.
func validateRedirectURI(raw string, native bool) error {
	switch {
	case raw == "":
		return errors.New("is empty")
	case len(raw) > maxRedirectURILen:
		return fmt.Errorf("is longer than %d characters", maxRedirectURILen)
	case strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }):
		return errors.New("must not contain spaces, control or non-ASCII characters (percent-encode them)")
	case strings.Contains(raw, "*"):
		return errors.New("must not contain wildcards (*): register every URI exactly")
	case strings.Contains(raw, `\`):
		return errors.New("must not contain backslashes")
	case strings.Contains(raw, "#"):
		return errors.New("must not contain a fragment (#)")
	}

	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URI")
	}
	if !u.IsAbs() {
		return errors.New("must be absolute, such as https://app.example.com/callback")
	}
	scheme := strings.ToLower(u.Scheme)
	if slices.Contains(dangerousSchemes, scheme) {
		return fmt.Errorf("uses the forbidden scheme %q", u.Scheme)
	}
	if u.User != nil {
		return errors.New("must not contain user information (@)")
	}
	if u.Opaque != "" {
		return errors.New("must have a path starting with / after the scheme")
	}

	switch {
	case scheme == "https":
		if u.Host == "" || u.Hostname() == "" {
			return errors.New("must have a host")
		}
	case scheme == "http":
		if u.Host == "" || u.Hostname() == "" {
			return errors.New("must have a host")
		}
		if !isLoopbackHost(u.Hostname()) {
			return errors.New("must use https (http only for 127.0.0.1, [::1] or localhost)")
		}
	case !native:
		return fmt.Errorf("must use https (the scheme %q is allowed only for native clients)", u.Scheme)
	case !strings.Contains(scheme, "."):
		return fmt.Errorf("uses the scheme %q: a native client's private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)", u.Scheme)
	}

	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return errors.New("must not contain . or .. path segments")
		}
	}

	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return errors.New("has an invalid query")
		}
		for _, p := range reservedParams {
			if q.Has(p) {
				return fmt.Errorf("must not carry the response parameter %q in its query", p)
			}
		}
	}
	return nil
}

// shorten cuts s for use in an error message.
func shorten(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
