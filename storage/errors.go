package storage

import (
	"errors"
	"fmt"
)

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
	// ErrCodeReused means an authorization code that was already consumed
	// was presented again (RFC 6749 §4.1.2). RedeemAuthCode returns it
	// inside a *CodeReusedError, which names the grant to revoke.
	ErrCodeReused = errors.New("storage: authorization code reused")
)

// CodeReusedError is RedeemAuthCode's answer for a code that was already
// consumed and whose tombstone has not been cleaned up yet. It matches
// ErrCodeReused with errors.Is; use errors.As to read it. RFC 6749 §4.1.2:
// the server MUST deny the second use and SHOULD revoke the tokens issued
// based on the code, which are the tokens of FamilyID.
type CodeReusedError struct {
	RequestID string // the authorization request the code was issued for
	ClientID  string // the client the code was issued to
	FamilyID  string // the family started by the first, successful consume
}

func (e *CodeReusedError) Error() string {
	return fmt.Sprintf("storage: authorization code of request %q (client %q, family %q) reused", e.RequestID, e.ClientID, e.FamilyID)
}

// Unwrap makes errors.Is(err, ErrCodeReused) true.
func (e *CodeReusedError) Unwrap() error { return ErrCodeReused }
