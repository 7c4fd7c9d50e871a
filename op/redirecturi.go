package op

import (
	"net"
	"net/url"
	"strings"

	"github.com/monban-idp/monban/storage"
)

// redirectURIAllowed reports whether uri may receive the authorization
// response for c. Registered URIs are compared as simple strings (RFC 6749
// §3.1.2.4, RFC 9700 §2.1, RFC 3986 §6.2.1): no case folding, no path
// normalisation, no trailing-slash tolerance. The only exception is the
// port of a loopback IP literal for native clients (RFC 8252 §7.3).
func redirectURIAllowed(c *storage.Client, uri string) bool {
	for _, registered := range c.RedirectURIs {
		if uri == registered {
			return true
		}
	}
	if c.ApplicationType != storage.ApplicationNative {
		return false
	}
	got, ok := loopbackWithoutPort(uri)
	if !ok {
		return false
	}
	for _, registered := range c.RedirectURIs {
		if want, ok := loopbackWithoutPort(registered); ok && want == got {
			return true
		}
	}
	return false
}

// loopbackWithoutPort returns uri with its port removed when it is an
// http URI on a loopback IP literal (127.0.0.1 or [::1]) with no userinfo,
// query or fragment. "localhost" is not included: RFC 8252 §8.3 says
// loopback redirects SHOULD use the IP literal.
func loopbackWithoutPort(uri string) (string, bool) {
	if !strings.HasPrefix(uri, "http://") || strings.ContainsAny(uri, "@#\\ \t\r\n") {
		return "", false
	}
	u, err := url.Parse(uri)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() || (ip.To4() != nil && u.Hostname() != "127.0.0.1") {
		return "", false
	}
	if p := u.Port(); p != "" && strings.TrimLeft(p, "0123456789") != "" {
		return "", false
	}
	host := u.Hostname()
	if ip.To4() == nil {
		host = "[" + host + "]"
	}
	return "http://" + host + u.EscapedPath(), true
}
