// Package op is monban's OpenID Provider: the protocol side of sign-in. It is
// the only package that imports github.com/zitadel/oidc.
//
// Routes (relative to the issuer, which has no path):
//
//	/.well-known/openid-configuration  discovery (OIDC Discovery §4), precomputed bytes
//	/jwks                              public signing keys (RFC 7517), precomputed bytes
//	/authorize                         authorization endpoint, GET and POST (OIDC Core §3.1.2)
//	/authorize/callback                where the login and consent pages hand the browser back
//	/token                             token endpoint (RFC 6749 §3.2), through zitadel's op.Server router
//	/revoke                            token revocation (RFC 7009), same router
//	/introspect                        token introspection (RFC 7662), same router
//	/userinfo                          UserInfo (OIDC Core §5.3)
//	/end_session                       RP-Initiated Logout 1.0
//	/device_authorization              device authorization (RFC 8628, device.go), when Config.DeviceFlow
//	/register, /register/{id}          dynamic client registration and management (RFC 7591,
//	                                   RFC 7592; register.go), when Config.DynamicRegistration
//
// The token endpoint also serves token exchange (RFC 8693,
// tokenexchange.go) when Config.TokenExchange: delegation only, the
// exchanging client or the actor token's subject named in `act`; audience
// and resource may be repeated there (the one exception to formGuard's
// rule against repeated parameters); with DPoP a proof binds the
// exchanged token, and a DPoP-bound subject or actor token is accepted
// only with a proof by its own key.
//
// Client assertions (private_key_jwt, RFC 7523 §2.2) are checked in
// assertion.go, called from VerifyClient, when Config.PrivateKeyJWT.
// Signed request objects (RFC 9101) sent by value at /authorize and /par
// are verified with the same client keys in requestobject.go; the claims
// request parameter (OIDC Core §5.5) is parsed and filtered in
// claimsparam.go, and what it asks for travels with the auth request, the
// refresh tokens and (for UserInfo) the access token.
//
// Refresh (token.go, issue.go) returns a new ID token unless the client
// registered OmitRefreshIDToken: OIDC Core §12.2 says the response MAY
// contain one, and leaving it out saves a signature per refresh (with
// RS256 most of a refresh's CPU). The code exchange always returns one.
//
// DPoP (RFC 9449), when Config.DPoP: dpop.go checks proofs and
// dpop_nonce.go makes server nonces; dpop_token.go checks the proof of a
// token request before zitadel's router sees it and binds the tokens
// (cnf.jkt) in the grants (token exchange included); dpop_resource.go
// checks bound tokens at UserInfo and, through CheckResourceProof, for
// the admin API (VerifyServiceToken reports a service token's binding).
//
// The token endpoint runs on zitadel/oidc's op.Server router, which parses
// requests, dispatches grants and authenticates clients through our
// VerifyClient; our server implements op.Server directly (embedding
// op.UnimplementedServer) because the stock LegacyServer does not enforce
// PKCE and needs a 23-method storage adapter we would override anyway.
// The authorization endpoint is ours because the library answers its
// validation errors with JSON instead of redirecting them to the client, has
// no SSO session, no RFC 9207 `iss` and no PKCE policy; discovery, JWKS and
// UserInfo are ours so that what is advertised is exactly what works and the
// bytes are computed once.
//
// The SSO session (cookie, lookup, renewal, ending, sweeping) and the
// sign-in flow belong to package web/session, the pages to package web;
// this package imports neither. the app (cmd/internal/app) hands it a Sessions (the session
// owner: Current, Live, Clear, EndSession) and a Browser (Fail,
// SignInURL, ConsentURL, ConfirmLogout). The protocol decisions about the
// session stay here: reuse or not for prompt, max_age and id_token_hint,
// and the prompt=none errors (authorize.go).
//
// Errors: the browser endpoints (/authorize, its callback, /end_session)
// return them to serveBrowser, which redirects a *clientError to the
// client (RFC 6749 §4.1.2.1) and hands anything else to Browser.Fail, the
// error page with a public message and the request id; the JSON endpoints
// answer OAuth JSON errors (serverError, writeOAuthError). Every failure
// is logged with the request's context; no Go error text reaches a client
// or a page (errors.go).
//
// Taking access away: the session owner ends sessions and enqueues
// back-channel logout; Worker runs its sweep and delivers logout tokens
// from the store's outbox; activeAccessToken is the one liveness check of
// access tokens (UserInfo, introspection).
//
// Signing keys are not this package's: package op/keys stores them
// encrypted with AES-256-GCM under the configured secrets, parses them once,
// precomputes the JWKS, rotates them next → current → retired, and signs
// and verifies compact JWS. This package serves its JWKS and discovery
// values, signs ID, access and logout tokens with it (keys.Keys.Sign) and
// verifies incoming JWTs (keys.Keys.Verify); keys_check.go checks at New
// that the keys can sign what the configuration asks for.
//
// The app package (cmd/internal/app) assembles this provider with the web
// pages and runs its Worker beside the key rotation and the janitor
// (cmd/internal/janitor) under one job runner.
package op
