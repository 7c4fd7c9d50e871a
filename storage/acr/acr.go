package acr

import "slices"

// The authentication context classes, advertised in discovery's
// acr_values_supported.
const (
	Password          = "urn:monban:acr:pwd"
	MFA               = "urn:monban:acr:mfa"
	PhishingResistant = "urn:monban:acr:phr"
)

// RFC 8176 §2 authentication method reference values monban uses.
const (
	AMRPassword = "pwd"  // a password
	AMROTP      = "otp"  // a one-time password: TOTP or a recovery code
	AMRHardware = "hwk"  // proof of possession of a hardware-secured key
	AMRSoftware = "swk"  // proof of possession of a software-secured key
	AMRUser     = "user" // user presence/verification by the authenticator
	AMRPIN      = "pin"  // a PIN given to the authenticator
	AMRMulti    = "mfa"  // more than one factor
)

// Supported lists the classes in ascending strength.
func Supported() []string { return []string{Password, MFA, PhishingResistant} }

// rank orders the classes; 0 is unknown.
func rank(class string) int {
	return slices.Index(Supported(), class) + 1
}

// Known reports whether class is one of monban's.
func Known(class string) bool { return rank(class) > 0 }

// Of is the class the methods reach: phishing-resistant with a WebAuthn
// key, multi-factor with the `mfa` method or a password and a one-time
// code, a password class with anything else; "" with no methods.
func Of(amr []string) string {
	switch {
	case len(amr) == 0:
		return ""
	case slices.Contains(amr, AMRHardware) || slices.Contains(amr, AMRSoftware):
		return PhishingResistant
	case slices.Contains(amr, AMRMulti),
		slices.Contains(amr, AMRPassword) && slices.Contains(amr, AMROTP):
		return MFA
	}
	return Password
}

// Meets reports whether the methods reach class: "" is met by anything,
// an unknown class by nothing.
func Meets(amr []string, class string) bool {
	if class == "" {
		return true
	}
	need := rank(class)
	return need > 0 && rank(Of(amr)) >= need
}

// Stronger returns the stronger of two classes ("" is the weakest).
func Stronger(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Needed is the class a request needs for its acr_values (OIDC Core
// §3.1.2.1, in order of preference), any of which the client accepts: the
// weakest known one. Unknown values are ignored; "" when none is known.
func Needed(values []string) string {
	best := 0
	for _, v := range values {
		if r := rank(v); r > 0 && (best == 0 || r < best) {
			best = r
		}
	}
	if best == 0 {
		return ""
	}
	return Supported()[best-1]
}

// WithMulti returns amr with `mfa` added when the methods are more than
// one factor (RFC 8176 §2, "mfa"; NIST SP 800-63B §4.2 on factor
// categories), for the session and the ID token. The categories:
// something known (pwd, pin), something had (otp, hwk, swk), and the
// authenticator's user verification (user) — counted only with a key
// (hwk or swk), since the key performed it. So a password and a one-time
// code, a password and a passkey, and a passkey with user verification
// are each two factors; a one-time code and a passkey are both
// possession, one factor.
func WithMulti(amr []string) []string {
	out := slices.Clone(amr)
	if !slices.Contains(out, AMRMulti) && factors(out) >= 2 {
		out = append(out, AMRMulti)
	}
	return out
}

// factors counts the factor categories among the methods.
func factors(amr []string) int {
	has := func(ms ...string) bool {
		return slices.ContainsFunc(ms, func(m string) bool { return slices.Contains(amr, m) })
	}
	n := 0
	if has(AMRPassword, AMRPIN) {
		n++
	}
	key := has(AMRHardware, AMRSoftware)
	if key || has(AMROTP) {
		n++
	}
	if key && has(AMRUser) {
		n++
	}
	return n
}
