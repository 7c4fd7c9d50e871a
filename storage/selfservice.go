package storage

import (
	"context"
	"time"
)

// Mail is one message of the durable mail outbox (issue 16): written in
// the same transaction as what caused it (a password reset asked for, a
// password changed), delivered by a worker on any replica with the rules
// of Queue. The bodies are rendered when the message is queued, in the
// recipient's language.
//
// A body may carry a single-use link whose token is stored elsewhere only
// hashed; the row lives until delivery (then it is deleted) or until it is
// given up (then Queue.Fail clears the bodies and keeps the reason), so a
// link is in the clear in the store no longer than it is being delivered.
type Mail struct {
	Queued
	Kind    string // what it is about, for logs and operators (e.g. "password_reset")
	To      string // the recipient's address (no CR or LF; checked by the caller)
	ToName  string // the recipient's display name; may be empty
	Subject string
	Text    string // plain-text body
	HTML    string // HTML body
}

// Outbox is the durable mail outbox.
type Outbox interface {
	// MailOutbox returns the mail queue, bound to this Store (inside
	// Atomically, to its transaction).
	MailOutbox() Queue[*Mail]
}

// Purposes of a UserToken.
const (
	TokenPasswordReset = "password_reset" // sets a new password (30 minutes)
	TokenVerifyEmail   = "verify_email"   // proves an address (24 hours)
)

// UserToken is a single-use token sent to a person by mail (issue 16). Only
// the SHA-256 of the 256-bit token is stored (HashToken, ASVS 6.5.2).
type UserToken struct {
	Hash    string // HashToken of the token in the link
	UserID  string
	Purpose string // TokenPasswordReset or TokenVerifyEmail
	// Email is the address the token was sent to: for TokenVerifyEmail the
	// address it proves (the user's, or a new one that replaces it once
	// proven).
	Email string
	// Stamp is what the user's credentials looked like when the token was
	// made (see the callers): a token whose stamp no longer matches is
	// refused, so any password change invalidates a reset link.
	Stamp     string
	CreatedAt time.Time
	ExpiresAt time.Time // usable while now < ExpiresAt
}

// UserTokens stores single-use tokens sent by mail.
type UserTokens interface {
	// CreateUserToken inserts t and removes every other token of the same
	// user and purpose (a newer link invalidates the older ones).
	// ErrNotFound if the user is absent; ErrAlreadyExists on a taken hash.
	CreateUserToken(ctx context.Context, t *UserToken) error
	// GetUserToken returns the token with the hash and purpose if it is
	// usable at now, or ErrNotFound (also when expired).
	GetUserToken(ctx context.Context, hash, purpose string, now time.Time) (*UserToken, error)
	// ConsumeUserToken removes and returns, in one atomic step, the token
	// with the hash and purpose if it is usable at now; otherwise
	// ErrNotFound (an expired token is removed too). Of concurrent callers
	// exactly one succeeds.
	ConsumeUserToken(ctx context.Context, hash, purpose string, now time.Time) (*UserToken, error)
	// DeleteUserTokens removes the user's tokens of the purpose and returns
	// how many it removed.
	DeleteUserTokens(ctx context.Context, userID, purpose string) (int, error)
}

// Audit actions of self-service (issue 16).
const (
	// ActionPasswordResetRequested: a reset link was queued for the user
	// (Detail the mail's outbox ID).
	ActionPasswordResetRequested = "password.reset_requested"
	// ActionPasswordReset: the user set a new password through a reset
	// link; every session and refresh token of theirs was ended.
	ActionPasswordReset = "password.reset"
	// ActionAccountProfile: the person changed their profile on the
	// account page.
	ActionAccountProfile = "account.profile"
	// ActionAccountPassword: the person changed their password on the
	// account page; their other sessions were ended.
	ActionAccountPassword = "account.password"
	// ActionEmailVerifyRequested: a verification link was queued (Detail
	// the mail's outbox ID).
	ActionEmailVerifyRequested = "account.email_requested"
	// ActionEmailVerified: a verification link was followed; the address
	// it proves is the user's, verified.
	ActionEmailVerified = "account.email_verified"
	// ActionConsentRevoke: the person took an application's access away
	// (its consent deleted, its refresh tokens revoked).
	ActionConsentRevoke = "consent.revoke"
	// ActionRegistered: a person created their account by following a
	// self-registration link (their address verified by it).
	ActionRegistered = "account.registered"
)
