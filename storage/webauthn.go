package storage

import (
	"context"
	"slices"
	"time"
)

// WebAuthnCredential is a person's registered WebAuthn authenticator (a
// passkey or a security key): the credential record of W3C WebAuthn
// Level 3 §4 ("credential record"). A person may have several, each with
// a name of their choosing.
type WebAuthnCredential struct {
	// ID is the credential ID the authenticator chose (at most 1023
	// bytes, WebAuthn §5.1); unique across all people.
	ID     []byte
	UserID string
	// PublicKey is the COSE_Key of the credential (WebAuthn §6.5.1).
	PublicKey []byte
	// SignCount is the last signature counter seen (WebAuthn §6.1.1);
	// zero for authenticators without one (synced passkeys).
	SignCount uint32
	// BackupEligible (BE) is fixed at registration: the credential may be
	// synced, i.e. software-held (RFC 8176 "swk" rather than "hwk").
	BackupEligible bool
	// BackupState (BS) is whether it is backed up now.
	BackupState bool
	// Transports are the authenticator's transport hints ("internal",
	// "usb", "hybrid", …).
	Transports []string
	// AAGUID names the authenticator model (16 bytes; zeros when hidden).
	AAGUID     []byte
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used to sign in
}

// WebAuthnCredentials keeps WebAuthn credential records. Every row
// belongs to a user and goes with them.
type WebAuthnCredentials interface {
	// AddWebAuthnCredential stores a new credential. ErrAlreadyExists
	// when the credential ID is registered already (to anyone);
	// ErrNotFound when the user does not exist.
	AddWebAuthnCredential(ctx context.Context, c *WebAuthnCredential) error
	// ListWebAuthnCredentials returns the person's credentials, oldest
	// first; none is not an error.
	ListWebAuthnCredentials(ctx context.Context, userID string) ([]*WebAuthnCredential, error)
	// GetWebAuthnCredential returns the credential with this ID;
	// ErrNotFound when none.
	GetWebAuthnCredential(ctx context.Context, id []byte) (*WebAuthnCredential, error)
	// UseWebAuthnCredential records a successful assertion in one atomic
	// step: the new signature counter, the backup state and the time.
	// ErrConflict when the counter does not grow while either it or the
	// stored one is non-zero (WebAuthn §7.2 step 22: a sign of a cloned
	// authenticator; nothing is changed); ErrNotFound when there is no
	// such credential.
	UseWebAuthnCredential(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error
	// RenameWebAuthnCredential renames the person's credential;
	// ErrNotFound when the person has no credential with this ID.
	RenameWebAuthnCredential(ctx context.Context, userID string, id []byte, name string) error
	// DeleteWebAuthnCredential removes the person's credential;
	// ErrNotFound when the person has no credential with this ID.
	DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error
}

// SignCountGoesBack reports whether an assertion's signature counter
// next, after stored, signals a cloned authenticator (WebAuthn §6.1.1,
// §7.2 step 22): either is non-zero and next is not greater.
func SignCountGoesBack(stored, next uint32) bool {
	return (stored != 0 || next != 0) && next <= stored
}

// CloneWebAuthnCredential returns a deep copy of c.
func CloneWebAuthnCredential(c *WebAuthnCredential) *WebAuthnCredential {
	o := *c
	o.ID, o.PublicKey, o.AAGUID = slices.Clone(c.ID), slices.Clone(c.PublicKey), slices.Clone(c.AAGUID)
	o.Transports = nil
	if len(c.Transports) > 0 {
		o.Transports = slices.Clone(c.Transports)
	}
	return &o
}

// Audit actions of WebAuthn credentials (category "factor").
const (
	// ActionPasskeyAdd: a person registered a WebAuthn credential.
	ActionPasskeyAdd = "factor.passkey_add"
	// ActionPasskeyRename: a person renamed one.
	ActionPasskeyRename = "factor.passkey_rename"
	// ActionPasskeyRemove: a person removed one.
	ActionPasskeyRemove = "factor.passkey_remove"
	// ActionPasskeyCloned: an assertion's signature counter went back (a
	// possibly cloned authenticator); the sign-in was refused.
	ActionPasskeyCloned = "factor.passkey_cloned"
)
