package storage

import "errors"

// Sentinel errors returned (wrapped with %w) by every Store implementation.
var (
	// ErrNotFound means the requested row does not exist, has expired, or was
	// already consumed.
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists means a row with the same unique key exists.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrConflict means the row exists but is not in a state that allows the
	// operation (for example a second code for one authorization request).
	ErrConflict = errors.New("storage: conflict")
	// ErrTokenReused means a refresh token that was already rotated was
	// presented again. The store has revoked the token's whole family in the
	// same transaction (RFC 9700 §4.14.2).
	ErrTokenReused = errors.New("storage: refresh token reused")
)
