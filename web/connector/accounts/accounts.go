// Package accounts maps an upstream identity (connector.Identity) to a
// local user: a linked identity signs in as its user; an identity nobody
// linked yet gets a new user when the connector allows just-in-time
// creation; an identity whose e-mail address belongs to a local account
// is never linked silently: the caller must have the person prove that
// account (its password and second factor) and then call Link. Every
// connector kind (redirect or password) uses the same Resolver.
//
// At each sign-in, Finish synchronises the user's memberships of the
// groups the upstream names (Identity.Groups not nil): missing groups are
// created, and only memberships that this identity added are removed.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/connector"
)

// Store is what resolution needs of storage.Store.
type Store interface {
	storage.FederatedIdentities
	GetUser(ctx context.Context, id string) (*storage.User, error)
	CreateUser(ctx context.Context, u *storage.User) error
	GetGroupByName(ctx context.Context, name string) (*storage.Group, error)
	CreateGroup(ctx context.Context, g *storage.Group) error
	AddGroupMember(ctx context.Context, groupID, userID string) error
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
}

// Outcomes of Resolve.
var (
	// ErrDisabled: the identity is linked to a disabled user.
	ErrDisabled = errors.New("accounts: the linked user is disabled")
	// ErrNoAccount: nothing is linked and the connector does not create
	// users.
	ErrNoAccount = errors.New("accounts: no local account for the identity")
	// ErrLinkRequired: nothing is linked, and a local account has the
	// identity's e-mail address. The person must prove that account
	// (then Link) — never linked silently.
	ErrLinkRequired = errors.New("accounts: the e-mail address belongs to a local account")
	// ErrLinkImpossible: as ErrLinkRequired, but no account with the
	// address has a local password, so nobody can prove it on the link
	// page (an account created by another connector, or one whose link
	// an administrator removed): an administrator has to decide.
	ErrLinkImpossible = errors.New("accounts: the e-mail address belongs to a local account without a password")
	// ErrUnusable: the upstream's data cannot make a valid user.
	ErrUnusable = errors.New("accounts: the upstream identity cannot make a local user")
)

// Resolver resolves identities against a Store.
type Resolver struct {
	Store Store
	Now   func() time.Time
}

func (r *Resolver) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

// Resolve returns the local user of id: the linked one; with jit, a new
// user linked to id (created reports it). Errors: ErrDisabled,
// ErrLinkRequired, ErrLinkImpossible, ErrNoAccount, ErrUnusable, or the
// store's. Call
// Finish after a successful Resolve once the sign-in goes ahead.
func (r *Resolver) Resolve(ctx context.Context, id connector.Identity, jit bool) (u *storage.User, created bool, err error) {
	if id.ConnectorID == "" || id.Subject == "" {
		return nil, false, fmt.Errorf("%w: no connector or subject", ErrUnusable)
	}
	link, err := r.Store.GetFederatedIdentity(ctx, id.ConnectorID, id.Subject)
	switch {
	case err == nil:
		u, err := r.Store.GetUser(ctx, link.UserID)
		if err != nil {
			return nil, false, fmt.Errorf("accounts: linked user: %w", err)
		}
		if u.Disabled {
			return nil, false, ErrDisabled
		}
		return u, false, nil
	case !errors.Is(err, storage.ErrNotFound):
		return nil, false, fmt.Errorf("accounts: look up link: %w", err)
	}
	if id.Email != "" {
		same, err := r.Store.ListUsersByEmail(ctx, id.Email)
		if err != nil {
			return nil, false, fmt.Errorf("accounts: look up e-mail: %w", err)
		}
		if len(same) > 0 {
			for _, u := range same {
				if u.PasswordHash != "" {
					return nil, false, ErrLinkRequired
				}
			}
			return nil, false, ErrLinkImpossible
		}
	}
	if !jit {
		return nil, false, ErrNoAccount
	}
	u, err = r.create(ctx, id)
	if err != nil {
		return nil, false, err
	}
	return u, true, nil
}

// maxSuffix bounds the attempts at a free username.
const maxSuffix = 50

// create makes a user for id, without a password, and links it. The
// username is the upstream's suggestion (or the e-mail's local part),
// cleaned, with "-2", "-3", … on a collision.
func (r *Resolver) create(ctx context.Context, id connector.Identity) (*storage.User, error) {
	now := r.now()
	u := &storage.User{Email: id.Email, EmailVerified: id.EmailVerified && id.Email != "", Name: clip(id.Name, userpolicy.MaxNameLen),
		CreatedAt: now, UpdatedAt: now}
	if userpolicy.ValidateUser(&storage.User{Username: "x", Email: u.Email}) != nil {
		u.Email, u.EmailVerified = "", false // an address the policy refuses is dropped, not stored
	}
	base := baseUsername(id)
	for n := 1; n <= maxSuffix; n++ {
		u.ID, u.Username = storage.NewID(), base
		if n > 1 {
			u.Username = base + "-" + strconv.Itoa(n)
		}
		if errs := userpolicy.ValidateUser(u); errs != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnusable, errs)
		}
		err := r.Store.CreateUser(ctx, u)
		if errors.Is(err, storage.ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("accounts: create user: %w", err)
		}
		if err := r.Link(ctx, u.ID, id); err != nil {
			return nil, err
		}
		return r.Store.GetUser(ctx, u.ID)
	}
	return nil, fmt.Errorf("%w: no free username near %q", ErrUnusable, base)
}

// baseUsername is the username to try first.
func baseUsername(id connector.Identity) string {
	s := id.Username
	if s == "" {
		s, _, _ = strings.Cut(id.Email, "@")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = clip(s, userpolicy.MaxUsernameLen-4)
	if s == "" {
		s = "user"
	}
	return s
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Link links id to the user (after the person proved that account, or
// for a new user). storage.ErrAlreadyExists when id is linked already.
func (r *Resolver) Link(ctx context.Context, userID string, id connector.Identity) error {
	now := r.now()
	err := r.Store.CreateFederatedIdentity(ctx, &storage.FederatedIdentity{ConnectorID: id.ConnectorID,
		Subject: id.Subject, UserID: userID, Email: id.Email, CreatedAt: now, LastUsedAt: now})
	if err != nil {
		return fmt.Errorf("accounts: link: %w", err)
	}
	return nil
}

// Finish records the sign-in with id as user u: the link's e-mail and
// time, and, when the upstream provides groups, the memberships. A
// membership the user had before the upstream named it is not taken over
// (and so never removed by the upstream).
func (r *Resolver) Finish(ctx context.Context, u *storage.User, id connector.Identity) error {
	link, err := r.Store.GetFederatedIdentity(ctx, id.ConnectorID, id.Subject)
	if err != nil {
		return fmt.Errorf("accounts: link: %w", err)
	}
	managed := link.Groups
	if id.Groups != nil {
		if managed, err = r.syncGroups(ctx, u, link.Groups, id.Groups); err != nil {
			return err
		}
	}
	if err := r.Store.UseFederatedIdentity(ctx, id.ConnectorID, id.Subject, id.Email, managed, r.now()); err != nil {
		return fmt.Errorf("accounts: record use: %w", err)
	}
	return nil
}

// syncGroups makes u a member of want and removes the memberships in
// prev (added by this identity earlier) that want no longer names. It
// returns the memberships this identity manages now.
func (r *Resolver) syncGroups(ctx context.Context, u *storage.User, prev, want []string) ([]string, error) {
	var managed []string
	for _, name := range want {
		if userpolicy.GroupNameProblem(name) != "" {
			continue // a name monban cannot hold is left out
		}
		if slices.Contains(u.Groups, name) {
			if slices.Contains(prev, name) {
				managed = append(managed, name)
			}
			continue
		}
		g, err := r.group(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := r.Store.AddGroupMember(ctx, g.ID, u.ID); err != nil {
			return nil, fmt.Errorf("accounts: add to group %q: %w", name, err)
		}
		managed = append(managed, name)
	}
	for _, name := range prev {
		if slices.Contains(want, name) || !slices.Contains(u.Groups, name) {
			continue
		}
		g, err := r.Store.GetGroupByName(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("accounts: group %q: %w", name, err)
		}
		if err := r.Store.RemoveGroupMember(ctx, g.ID, u.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("accounts: remove from group %q: %w", name, err)
		}
	}
	slices.Sort(managed)
	return managed, nil
}

// group returns the group, created when missing (a concurrent creation
// is read back).
func (r *Resolver) group(ctx context.Context, name string) (*storage.Group, error) {
	g, err := r.Store.GetGroupByName(ctx, name)
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("accounts: group %q: %w", name, err)
	}
	now := r.now()
	g = &storage.Group{ID: storage.NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	err = r.Store.CreateGroup(ctx, g)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return r.Store.GetGroupByName(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: create group %q: %w", name, err)
	}
	return g, nil
}
