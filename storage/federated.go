package storage

import (
	"context"
	"slices"
	"time"
)

// FederatedIdentity links a person's identity at an upstream connector
// (issue 18: an OpenID provider, GitHub, LDAP) to a local user. A user
// may have several; (ConnectorID, Subject) names one and belongs to at
// most one user.
type FederatedIdentity struct {
	ConnectorID string
	Subject     string // the upstream's stable id (connector.Identity.Subject)
	UserID      string
	Email       string // what the upstream said at the last sign-in; informative
	// Groups are the names of the group memberships this identity added
	// to its user (group synchronisation): only these are removed when
	// the upstream stops naming them, so memberships an administrator
	// granted stay. Sorted; nil when none.
	Groups     []string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// CloneFederatedIdentity deep-copies f.
func CloneFederatedIdentity(f *FederatedIdentity) *FederatedIdentity {
	o := *f
	o.Groups = slices.Clone(f.Groups)
	return &o
}

// FederatedIdentities stores the links between upstream identities and
// local users.
type FederatedIdentities interface {
	// CreateFederatedIdentity links f. ErrAlreadyExists if (ConnectorID,
	// Subject) is linked already; ErrNotFound if the user is absent.
	CreateFederatedIdentity(ctx context.Context, f *FederatedIdentity) error
	// GetFederatedIdentity returns the link, or ErrNotFound.
	GetFederatedIdentity(ctx context.Context, connectorID, subject string) (*FederatedIdentity, error)
	// ListUserFederatedIdentities returns the user's links ordered by
	// connector and subject; empty (not an error) when there are none.
	ListUserFederatedIdentities(ctx context.Context, userID string) ([]*FederatedIdentity, error)
	// UseFederatedIdentity records a sign-in with the link: the e-mail
	// the upstream gave, the groups this identity now manages and the
	// time. ErrNotFound if the link is absent.
	UseFederatedIdentity(ctx context.Context, connectorID, subject, email string, groups []string, at time.Time) error
	// DeleteFederatedIdentity removes the link (the user stays).
	// ErrNotFound if absent.
	DeleteFederatedIdentity(ctx context.Context, connectorID, subject string) error
	// ListUsersByEmail returns the users whose e-mail address is email,
	// compared without regard to case, ordered by username; empty when
	// none.
	ListUsersByEmail(ctx context.Context, email string) ([]*User, error)
}
