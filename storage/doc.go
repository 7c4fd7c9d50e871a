// Package storage defines monban's domain types, the Store interface every
// backend implements, and the sentinel errors callers test with errors.Is.
//
// It imports only the standard library. Backends live in sub-packages
// (memory, postgres) and prove they behave identically by passing the
// conformance suite in storagetest.
//
// Secrets are never stored in the clear: session tokens, refresh tokens,
// authorization codes and client secrets are stored as the SHA-256 of a
// high-entropy random value (see HashToken); user passwords as argon2id PHC
// strings (package storage/password); signing keys encrypted by the caller.
//
// Writes never replace a whole record read earlier: UpdateUser and
// UpdateClient run an updater under the row's lock, and SetPasswordHash
// writes only over the hash it was given, so concurrent writers of
// different fields never undo each other. The rules a user or client must
// meet live in storage/userpolicy and storage/clientpolicy, which report
// FieldErrors in neutral words that each door (CLI, console) presents.
//
// Every time a backend compares against "now" is passed in by the caller, so
// tests drive expiry with an injected clock and never sleep.
package storage
