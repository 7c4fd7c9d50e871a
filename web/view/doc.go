// Package view holds the templ components of monban's browser pages: the
// shared layout, sign-in, consent, sign-out confirmation, signed-out and
// error pages. It is the only package that imports templ; the generated
// *_templ.go files are committed.
//
// Components render whatever they are given, escaped; they never read
// requests, cookies or the store. A CSP nonce, when needed, comes from the
// context (templ.WithNonce).
package view
