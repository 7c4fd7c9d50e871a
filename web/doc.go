// Package web serves monban's browser pages: sign-in, consent and the
// signed-out page, with the cookies, CSRF protection and security headers
// they need.
//
// The protocol side (package op) sends a browser without a usable single
// sign-on session to LoginURL. After a successful sign-in the handler
// creates a fresh server-side session (the cookie holds a random 256-bit
// token, the store only its SHA-256), binds the user to the pending
// authorization request and answers 303 to Config.CallbackURL, which op
// handles. The callback may send the browser to ConsentURL. web never
// imports op: cmd wires the two together.
//
// Every POST is protected twice against cross-site request forgery: by
// http.CrossOriginProtection (Sec-Fetch-Site / Origin) and by a signed
// double-submit token (see csrf.go). Pages carry a strict
// Content-Security-Policy with a per-request nonce, frame-ancestors 'none'
// and Cache-Control: no-store (SecurityHeaders).
package web
