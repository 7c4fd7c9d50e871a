package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

// CSRF protection is a signed double-submit token (security checklist S7):
//
//   - the browser holds a random 256-bit value in the CSRF cookie
//     (__Host-monban_csrf on https issuers, monban_csrf otherwise; HttpOnly,
//     SameSite=Lax, Path=/);
//   - every form carries csrf_token = base64url(HMAC-SHA256(key, label ‖ value));
//   - a POST is accepted only when the field equals the HMAC of the cookie it
//     arrived with, compared in constant time.
//
// A cross-site attacker can neither read the cookie nor compute the HMAC,
// and a cookie planted by a sibling subdomain is useless without the key.
// POST handlers are also behind http.CrossOriginProtection.

const csrfField = "csrf_token"

const csrfLabel = "monban csrf v1\x00"

func (h *Handler) csrfToken(cookieValue string) string {
	mac := hmac.New(sha256.New, h.csrfKey)
	mac.Write([]byte(csrfLabel))
	mac.Write([]byte(cookieValue))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ensureCSRF returns the form token for the browser's CSRF cookie, setting
// a new cookie first if the browser has none (or a malformed one).
func (h *Handler) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.csrfName); err == nil && wellFormedToken(c.Value) {
		return h.csrfToken(c.Value)
	}
	v := storage.NewToken()
	http.SetCookie(w, &http.Cookie{
		Name:     h.csrfName,
		Value:    v,
		Path:     "/",
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return h.csrfToken(v)
}

// validCSRF reports whether the parsed form's token matches the cookie.
func (h *Handler) validCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.csrfName)
	if err != nil || !wellFormedToken(c.Value) {
		return false
	}
	got := r.PostForm.Get(csrfField)
	if got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(h.csrfToken(c.Value)))
}

// wellFormedToken reports whether v looks like storage.NewToken output.
func wellFormedToken(v string) bool { return session.WellFormedToken(v) }

// CSRFToken returns the CSRF form token (field "csrf_token") for the
// browser, setting the CSRF cookie first if it has none. Other packages'
// forms (the admin console) use it like the sign-in page does.
func (h *Handler) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	return h.ensureCSRF(w, r)
}

// ParseForm limits and parses a POST body and checks its CSRF token. On
// failure it has written an error page through Fail (403 for a missing or
// wrong token) and returns false.
func (h *Handler) ParseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := h.parsePost(w, r); err != nil {
		h.Fail(w, r, err)
		return false
	}
	return true
}

// Page wraps an HTML page handler with the security headers (CSP nonce,
// HSTS on https issuers), as the sign-in pages are.
func (h *Handler) Page(next http.Handler) http.Handler {
	return h.page(next)
}

// FormPage is Page for handlers that accept POSTs: it also refuses
// cross-origin form posts (http.CrossOriginProtection).
func (h *Handler) FormPage(next http.Handler) http.Handler {
	return h.page(h.crossOrigin.Handler(next))
}
