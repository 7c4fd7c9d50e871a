// Package pending keeps an authorization request that nobody has signed
// in to yet out of the store: it seals the request into a compact,
// URL-safe value that travels with the browser (as the sign-in page's
// request id) and opens it again when the person signs in. Only then is
// the request stored, bound to the person (issue #13 item 7b: an
// unauthenticated /authorize writes nothing).
//
// A sealed value is "p1." followed by the unpadded base64url encoding
// (RFC 4648 §5) of a 12-byte random nonce and the AES-256-GCM sealing
// (NIST SP 800-38D) of the request's binary encoding (see encode.go), with
// the prefix as additional data. The key is for this purpose only. The
// GCM tag makes the value tamper-evident and keeps its parameters (state,
// nonce, login_hint) confidential; ExpiresAt, inside it, bounds its life.
//
// The package seals a second kind of value the same way, with a key and a
// prefix of its own (code.go, CodeSealer): the authorization code of a
// request answered at once from a live SSO session, which carries the
// request to the token endpoint so that the authorization endpoint stores
// nothing on that path either (issue #21).
package pending
