package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/monban-idp/monban/storage"
)

// Passkeys (W3C WebAuthn Level 3; issue 17). The relying-party ID is the
// issuer's host and the only accepted origin the issuer's origin
// (WebAuthn §5.1.2, §7.1 step 9), so an assertion made for another site
// or origin never verifies. go-webauthn does the attestation and
// assertion checks; this file keeps the ceremony state.
//
// A ceremony's state (its challenge, WebAuthn §13.4.3) is kept in a
// short-lived cookie signed with a key derived from the CSRF key and
// bound to what the ceremony is for: the person's user ID for a
// registration, the authorization request for a sign-in. Each page that
// offers a ceremony issues a fresh one; the finishing POST clears it.

// passkeyTTL bounds the time between showing a page with a ceremony and
// finishing it.
const passkeyTTL = 10 * time.Minute

// Ceremony kinds, each with a cookie of its own so the security page and
// a sign-in in two tabs do not overwrite each other.
const (
	ceremonyRegister = "monban_passkey_reg"
	ceremonyLogin    = "monban_passkey_login"
)

// ceremonyLabel separates the ceremony MAC from other uses of the key.
const ceremonyLabel = "monban webauthn ceremony v1\x00"

// ceremony is what the cookie holds.
type ceremony struct {
	Kind    string               `json:"k"`
	Binding string               `json:"b"` // user ID or request binding
	Session webauthn.SessionData `json:"s"`
	Expires time.Time            `json:"e"`
}

// newPasskeys configures go-webauthn for the issuer, or returns nil when
// the issuer's host cannot be a relying-party ID (an IP address, which
// browsers refuse, WebAuthn §5.1.2): passkeys are then not offered.
func newPasskeys(iss *url.URL, displayName string) *webauthn.WebAuthn {
	host := iss.Hostname()
	if net.ParseIP(host) != nil {
		return nil
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: displayName,
		RPOrigins:     []string{iss.Scheme + "://" + iss.Host},
		// WebAuthn §6.5.3: monban does not judge authenticator models.
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil
	}
	return w
}

// ceremonyCookie is the cookie name for a kind (with __Host- on https).
func (h *Handler) ceremonyCookie(kind string) string {
	if h.secure {
		return "__Host-" + kind
	}
	return kind
}

// saveCeremony sets the ceremony cookie for kind, bound to binding.
func (h *Handler) saveCeremony(w http.ResponseWriter, kind, binding string, s *webauthn.SessionData) {
	c := ceremony{Kind: kind, Binding: binding, Session: *s, Expires: h.now().UTC().Add(passkeyTTL)}
	body, _ := json.Marshal(c)
	v := base64.RawURLEncoding.EncodeToString(body)
	http.SetCookie(w, &http.Cookie{Name: h.ceremonyCookie(kind), Value: v + "." + h.ceremonyMAC(v), Path: "/",
		MaxAge: int(passkeyTTL / time.Second), Secure: h.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// takeCeremony returns the ceremony of kind bound to binding and clears
// the cookie; ok is false when it is absent, forged, expired or for
// something else (e.g. a challenge issued for another request).
func (h *Handler) takeCeremony(w http.ResponseWriter, r *http.Request, kind, binding string) (webauthn.SessionData, bool) {
	ck, err := r.Cookie(h.ceremonyCookie(kind))
	if err != nil {
		return webauthn.SessionData{}, false
	}
	http.SetCookie(w, &http.Cookie{Name: h.ceremonyCookie(kind), Path: "/", MaxAge: -1, Secure: h.secure,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	v, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(h.ceremonyMAC(v))) {
		return webauthn.SessionData{}, false
	}
	body, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return webauthn.SessionData{}, false
	}
	var c ceremony
	if json.Unmarshal(body, &c) != nil || c.Kind != kind || !hmac.Equal([]byte(c.Binding), []byte(binding)) ||
		!h.now().Before(c.Expires) {
		return webauthn.SessionData{}, false
	}
	return c.Session, true
}

func (h *Handler) ceremonyMAC(v string) string {
	m := hmac.New(sha256.New, derive(h.csrfKey, "monban webauthn ceremony"))
	m.Write([]byte(ceremonyLabel))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// passkeyUser is a person as go-webauthn sees them. The user handle is
// the person's ID (random, no personal data; WebAuthn §14.6.1).
type passkeyUser struct {
	u     *storage.User
	creds []*storage.WebAuthnCredential
}

// WebAuthnID implements webauthn.User.
func (p passkeyUser) WebAuthnID() []byte { return []byte(p.u.ID) }

// WebAuthnName implements webauthn.User.
func (p passkeyUser) WebAuthnName() string { return p.u.Username }

// WebAuthnDisplayName implements webauthn.User.
func (p passkeyUser) WebAuthnDisplayName() string {
	if p.u.Name != "" {
		return p.u.Name
	}
	return p.u.Username
}

// WebAuthnCredentials implements webauthn.User.
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(p.creds))
	for _, c := range p.creds {
		var tr []protocol.AuthenticatorTransport
		for _, t := range c.Transports {
			tr = append(tr, protocol.AuthenticatorTransport(t))
		}
		out = append(out, webauthn.Credential{ID: c.ID, PublicKey: c.PublicKey, Transport: tr,
			Flags:         webauthn.CredentialFlags{UserPresent: true, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount}})
	}
	return out
}

// descriptors lists the credentials for allowCredentials or
// excludeCredentials.
func (p passkeyUser) descriptors() []protocol.CredentialDescriptor {
	var out []protocol.CredentialDescriptor
	for _, c := range p.WebAuthnCredentials() {
		out = append(out, c.Descriptor())
	}
	return out
}

// optionsJSON is the options for navigator.credentials.create or get,
// for the page's data attribute.
func optionsJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// credentialName is a credential ID as it travels in forms.
func credentialName(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// passkeyMethods is the RFC 8176 methods an assertion proves: a key held
// by hardware ("hwk") or, when backup-eligible (a synced passkey), by
// software ("swk"); and "user" when the authenticator verified the
// person (WebAuthn §6.1 flag UV).
func passkeyMethods(backupEligible, userVerified bool) []string {
	m := []string{"hwk"}
	if backupEligible {
		m[0] = "swk"
	}
	if userVerified {
		m = append(m, "user")
	}
	return m
}
