package session

import (
	"net"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserAgent bounds the User-Agent a session records, in bytes.
const MaxUserAgent = 256

// CleanUserAgent makes a User-Agent header fit to store and show: invalid
// UTF-8, NUL and other control characters are dropped (PostgreSQL
// refuses NUL in text), surrounding space is trimmed, and the result is cut
// to at most MaxUserAgent bytes at a character boundary.
func CleanUserAgent(ua string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(ua) {
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > MaxUserAgent {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// remoteHost is the host part of r.RemoteAddr, the default client address
// of a Flow.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
