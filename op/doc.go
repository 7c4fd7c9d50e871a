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
// The browser side (login, consent and sign-out confirmation pages,
// cookies) lives in package web; the app hands this package a Browser that
// reads the SSO session and renders pages.
//
// Taking access away: Logout is the one place that ends sessions (logout,
// confirmation page, forced logout, expiry) and enqueues back-channel
// logout; Worker sweeps expired sessions and delivers logout tokens from
// the store's outbox; activeAccessToken is the one liveness check of
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
