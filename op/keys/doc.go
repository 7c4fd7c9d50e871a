// Package keys owns monban's signing keys, apart from the protocol: their
// storage encrypted at rest, their rotation, the JWKS and the signing and
// verification of compact JWS. It imports go-jose and storage, never
// zitadel/oidc; package op signs and verifies tokens with it.
//
// What lives where:
//
//	keys.go            KeyEncryptionKeys (AES-256-GCM, key ID as additional data), Keys: Load, snapshot, JWKS
//	jwt.go             Sign and Verify (only our own keys by kid; no jku/x5u/jwk/crit; RFC 8725)
//	rotation.go        RotationPolicy, Ensure at start-up, Rotate, and Run, the refresh-and-rotate loop
//	rotation_admin.go  ForceRotate and Reencrypt, for `monban keys rotate|reencrypt`
//	ready.go           Ready, the signer part of /readyz
//
// Each algorithm has one current key (signs), one next key (published,
// waiting) and retired keys (published until every token they signed has
// expired). Run is one of the application's background jobs (cmd/internal/app):
//
//	every DefaultKeyRefresh (30 s): Load (follow other replicas) → Rotate (promote, create next, remove expired)
package keys
