// Package session owns the browser's single sign-on session and the
// sign-in flow that creates it. It imports storage only: package web
// (pages) and package op (protocol) both use it through what the binary
// wires, and neither imports the other.
//
// Responsibilities, by file:
//
//	session.go  Manager: the cookie (monban_session; __Host- prefix and Secure on
//	            https issuers; HttpOnly, SameSite=Lax, Path=/), Current (lookup of
//	            a live session of an enabled user, LastSeenAt touched at most once
//	            a minute), Live (the one idle/absolute-expiry check, also for tokens
//	            bound to a session), Clear
//	signin.go   SignIn: a new cookie at every sign-in (no fixation); the same
//	            user's live session is renewed in place (same ID and clients, new
//	            AuthTime and amr: step-up), another user's is revoked
//	end.go      EndSession, EndUserSessions, Sweep: revoke, revoke refresh tokens,
//	            enqueue back-channel logout once (Config.Notify wakes the sender),
//	            audit; Sweep ends sessions that went idle or expired
//	flow.go     Flow and Step: the sign-in as explicit steps
//
// Who calls what (routes are served by package web and op):
//
//	GET  /authorize            op: Current, then its protocol decisions (prompt,
//	                           max_age, id_token_hint; prompt=none errors); no
//	                           usable session → Flow.Start (the first step's page)
//	GET  /connector/{id}/…     web: an upstream sign-in identifies and
//	                           authenticates (amr "fed"), then Flow.Advance
//	GET/POST /login            web: the password Step; Flow.Resume, then
//	                           Flow.Advance → next step, or SignIn + the request
//	                           bound to the session → /authorize/callback
//	GET  /authorize/callback   op: Current must be the request's session; consent
//	                           needed → /consent, else the code to the client
//	GET/POST /consent          web: Current must be the request's session
//	GET  /end_session          op: Current, EndSession, Clear
//	POST /logout               web: the confirmation form; EndSession, Clear
//	/admin                     web/admin: Current; EndSession, EndUserSessions
//	worker                     op.Worker calls Sweep each step
//
// The flow: identify → authenticate with one or more factors → consent →
// back to the provider. Each identify or factor step is a Step with its
// own page; what the steps established (user, amr) travels between pages
// in a short-lived cookie signed with the flow's key and bound to the
// authorization request (Progress). A TOTP or WebAuthn factor, or an
// upstream identity provider, is added as another Step in web.New and
// another page in web's Routes; the protocol code only knows Flow.Start
// (Browser.SignInURL) and the consent page. Consent stays the provider's
// decision (client registration, prompt=consent, earlier grants).
package session
