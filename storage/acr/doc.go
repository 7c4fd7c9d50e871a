// Package acr names monban's authentication context classes (the `acr`
// claim, OIDC Core §2) and the authentication methods behind them (the
// `amr` claim, RFC 8176 §2), and decides which class a set of methods
// reaches. The provider and the sign-in pages both use it, so the level
// a request needs and the level a session has are judged the same way.
//
// The classes, from weakest to strongest:
//
//	urn:monban:acr:pwd  one factor (a password)
//	urn:monban:acr:mfa  two factors (a password and a TOTP or recovery
//	                    code), or a passkey with user verification
//	urn:monban:acr:phr  phishing-resistant: a WebAuthn authenticator
//	                    (hwk or swk), bound to this origin
package acr
