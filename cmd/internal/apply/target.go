package apply

import (
	"context"
	"errors"

	"github.com/monban-idp/monban/storage"
)

// Errors a Target returns, wrapped or not; Execute words them for the
// operator.
var (
	// ErrStale: the object's version is not the one the plan was made
	// from: someone changed it since (an HTTP API answers 412).
	ErrStale = errors.New("changed since apply read it")
	// ErrGone: the object the plan changes or deletes no longer exists.
	ErrGone = errors.New("deleted since apply read it")
	// ErrExists: an object the plan creates exists by now.
	ErrExists = errors.New("created by someone else since apply read the list")
	// ErrInUse: a group to delete is still named by a client's rule.
	ErrInUse = errors.New("still named by a client's allowed groups")
)

// ClientState is a client as a Target holds it, with its version: an
// opaque string (a content hash for the database, the ETag for the admin
// API) that changes whenever the client does. Client.SecretHash is the
// stored hash when the target can tell it, so that an unchanged secret
// plans nothing; a target that cannot leaves it empty for a client whose
// secret it cannot compare and sets SecretUnknown.
type ClientState struct {
	Client        *storage.Client
	Version       string
	SecretUnknown bool
}

// GroupState is a group with the usernames of its members (sorted) and
// its version, which covers the members too.
type GroupState struct {
	Group   *storage.Group
	Members []string
	Version string
}

// ClientWrite is a client to store: every setting as it should be after
// the write (the plan merged the file into the version it read). Secret,
// when not empty, is the new client secret in the clear, for the target
// to hash or send; empty keeps the stored secret. A client whose method
// uses no secret (none, private_key_jwt) has none after the write.
type ClientWrite struct {
	Client *storage.Client
	Secret string
}

// GroupWrite is a group to store: Name, Description and Managed of
// Group. Members, when not nil, is the whole membership by username;
// nil leaves it alone.
type GroupWrite struct {
	Group   *storage.Group
	Members *[]string
}

// Target is where apply reads and writes clients and groups. Updates and
// deletions carry the version the plan was made from and fail with
// ErrStale, writing nothing, when the object has changed since; every
// write is atomic with its audit entry (actor "apply").
type Target interface {
	// ListClients returns every client, ordered by ID.
	ListClients(ctx context.Context) ([]ClientState, error)
	// GetClient returns one client; ErrGone if there is none.
	GetClient(ctx context.Context, id string) (ClientState, error)
	// CreateClient stores a new client; ErrExists if the ID is taken.
	CreateClient(ctx context.Context, w ClientWrite) error
	// UpdateClient replaces the client w.Client.ID if it is still at
	// version; ErrStale or ErrGone otherwise.
	UpdateClient(ctx context.Context, version string, w ClientWrite) error
	// DeleteClient removes the client if it is still at version.
	DeleteClient(ctx context.Context, id, version string) error

	// ListGroups returns every group, ordered by name.
	ListGroups(ctx context.Context) ([]GroupState, error)
	// GetGroup returns one group by name; ErrGone if there is none.
	GetGroup(ctx context.Context, name string) (GroupState, error)
	// CreateGroup stores a new group (and its members when given);
	// ErrExists if the name is taken.
	CreateGroup(ctx context.Context, w GroupWrite) error
	// UpdateGroup writes the group w.Group.Name if it is still at
	// version.
	UpdateGroup(ctx context.Context, version string, w GroupWrite) error
	// DeleteGroup removes the group if it is still at version; ErrInUse
	// while a client's rule names it.
	DeleteGroup(ctx context.Context, name, version string) error

	// MissingUsers returns the usernames of the list that name no user.
	MissingUsers(ctx context.Context, usernames []string) ([]string, error)
}
