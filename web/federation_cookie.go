package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Short-lived signed cookies of the upstream sign-in (issue 18): the
// state of a redirect to an upstream, an identity waiting to be linked,
// and the connector to log out of. Each is HttpOnly, SameSite=Lax (the
// upstream's callback is a top-level GET navigation, which Lax cookies
// accompany), Path=/, Secure and __Host- on https, and MACed with a key
// derived from the CSRF key for its purpose alone.
const (
	upstreamCookie = "monban_upstream"
	linkCookie     = "monban_link"
	logoutCookie   = "monban_upstream_logout"
)

// upstreamTTL bounds the time a person may spend at the upstream, and
// on the link page.
const upstreamTTL = 10 * time.Minute

func (h *Handler) cookieName(base string) string {
	if h.secure {
		return "__Host-" + base
	}
	return base
}

// setSigned stores v (JSON) in the cookie base, valid for ttl.
func (h *Handler) setSigned(w http.ResponseWriter, base string, v any, ttl time.Duration) {
	body, _ := json.Marshal(v)
	enc := base64.RawURLEncoding.EncodeToString(body)
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(base), Value: enc + "." + h.cookieMAC(base, enc), Path: "/",
		MaxAge: int(ttl / time.Second), Secure: h.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// openSigned reads the cookie base into v; false when absent or forged.
func (h *Handler) openSigned(r *http.Request, base string, v any) bool {
	c, err := r.Cookie(h.cookieName(base))
	if err != nil {
		return false
	}
	enc, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(h.cookieMAC(base, enc))) {
		return false
	}
	body, err := base64.RawURLEncoding.DecodeString(enc)
	return err == nil && json.Unmarshal(body, v) == nil
}

// clearCookie deletes the cookie base.
func (h *Handler) clearCookie(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(base), Path: "/", MaxAge: -1, Secure: h.secure,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) cookieMAC(base, v string) string {
	m := hmac.New(sha256.New, derive(h.csrfKey, "monban cookie "+base))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
