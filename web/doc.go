// Package web serves monban's browser pages: sign-in, consent and the
// signed-out page, with the cookies, CSRF protection and security headers
// they need.
//
// The single sign-on session and the sign-in flow belong to package
// web/session: the protocol side (package op) sends a browser without a
// usable session to SignInURL, the flow's first step. The password step
// (GET and POST /login) checks the credentials, then advances the flow:
// to a further step, or, when every step is done, the session owner
// starts or renews the server-side session (the cookie holds a random
// 256-bit token, the store only its SHA-256), binds it to the pending
// authorization request, and the page answers 303 to Config.CallbackURL,
// which op handles. The callback may send the browser to ConsentURL. The
// sign-out confirmation (POST /logout) ends the session through the same
// owner. web never imports op: cmd wires the two together.
//
// Upstream identity providers (issue 18, federation.go): each
// Config.Connectors entry is a button on the sign-in page. GET
// /connector/{id}/start keeps state, nonce and PKCE verifier in a signed,
// single-use cookie bound to the request and sends the browser to the
// upstream; GET /connector/{id}/callback checks the state in constant
// time, lets the connector verify the answer, resolves the identity to a
// local user (web/connector/accounts) and advances the flow with amr
// "fed". An identity whose e-mail belongs to a local account goes to the
// link page (federation_link.go), which needs that account's password
// (and one-time code) before linking. An entry with a Password checker
// (LDAP) has no button: it checks the sign-in form's own username and
// password, for the usernames login_directory.go sends to it (linked to
// it, or without a local password), with amr "pwd".
//
// Errors: page handlers return them, and Fail is the one adapter that
// turns them into the error page: a PublicError (or any error with a
// Public method, such as op's) shows its status and message, anything
// else a generic 503; the page carries the request id as a reference, and
// the error is logged with the request's context, never shown.
//
// Every POST is protected twice against cross-site request forgery: by
// http.CrossOriginProtection (Sec-Fetch-Site / Origin) and by a signed
// double-submit token (see csrf.go). Pages carry a strict
// Content-Security-Policy with a per-request nonce, frame-ancestors 'none'
// and Cache-Control: no-store (SecurityHeaders).
package web
