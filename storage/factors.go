package storage

import (
	"context"
	"time"
)

// TOTP is a person's time-based one-time password factor (RFC 6238). A
// person has at most one. It counts only once confirmed with a first code.
type TOTP struct {
	UserID string
	// Secret is the shared secret sealed with the key-encryption keys
	// (never the plain secret); the store treats it as opaque bytes.
	Secret []byte
	// ConfirmedAt is zero until a first code confirmed the enrolment.
	ConfirmedAt time.Time
	// LastStep is the RFC 6238 time step of the last accepted code; a code
	// of that step or an earlier one is refused (each code once).
	LastStep  int64
	CreatedAt time.Time
}

// Confirmed reports whether the TOTP factor counts.
func (t *TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// Factors keeps second factors: a TOTP secret and recovery codes per
// person. Every row belongs to a user and goes with them.
type Factors interface {
	// PutTOTP stores an unconfirmed TOTP factor for t.UserID, replacing
	// an unconfirmed one. ErrAlreadyExists when a confirmed one exists;
	// ErrNotFound when the user does not exist.
	PutTOTP(ctx context.Context, t *TOTP) error
	// GetTOTP returns the person's TOTP factor; ErrNotFound when none.
	GetTOTP(ctx context.Context, userID string) (*TOTP, error)
	// UseTOTPStep records, in one atomic step, that a code of time step
	// was accepted: LastStep becomes step, and an unconfirmed factor is
	// confirmed at at. ErrConflict when step <= LastStep (a replayed or
	// older code, RFC 6238 §5.2); ErrNotFound when there is no factor.
	UseTOTPStep(ctx context.Context, userID string, step int64, at time.Time) error
	// DeleteTOTP removes the person's TOTP factor; ErrNotFound when none.
	DeleteTOTP(ctx context.Context, userID string) error
	// ReplaceRecoveryCodes replaces every recovery code of the person
	// with the given hashes (HashToken of each code). ErrNotFound when the
	// user does not exist.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode consumes the person's unused code with this hash in
	// one atomic step; ErrNotFound when there is none (unknown or used).
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error
	// CountRecoveryCodes returns how many unused codes the person has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteFactors removes every factor of the person (an administrator's
	// reset): TOTP, recovery codes and WebAuthn credentials; it is not an
	// error when there are none.
	DeleteFactors(ctx context.Context, userID string) error
}

// Audit actions of second factors (category "factor").
const (
	// ActionFactorEnrol: a person confirmed a new TOTP factor.
	ActionFactorEnrol = "factor.enrol"
	// ActionFactorRemove: a person removed their factors.
	ActionFactorRemove = "factor.remove"
	// ActionFactorReset: an administrator removed a person's factors and
	// ended their sessions.
	ActionFactorReset = "factor.reset"
	// ActionRecoveryCodes: a person made new recovery codes; the old ones
	// stopped working.
	ActionRecoveryCodes = "factor.recovery_codes"
)
