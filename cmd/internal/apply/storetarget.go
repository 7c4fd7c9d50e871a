package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Actor is the audit trail's actor of every change apply makes.
const Actor = "apply"

// memberPage is how many members StoreTarget reads per statement.
const memberPage = 500

// StoreTarget is the Target of the database: the store the other CLI
// commands use. Versions are content hashes of the stored rows, so any
// change by anyone (console, API, CLI, a group rename) is noticed.
type StoreTarget struct {
	Store storage.Store
	// Now stamps the rows and audit entries; nil: time.Now in UTC at
	// microseconds.
	Now func() time.Time
}

var _ Target = (*StoreTarget)(nil)

func (t *StoreTarget) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// ClientVersion is the version StoreTarget gives a client: a hash of all
// of its stored fields.
func ClientVersion(c *storage.Client) string { return hashJSON(c) }

// GroupVersion is the version StoreTarget gives a group with its members.
func GroupVersion(g *storage.Group, members []string) string {
	return hashJSON(struct {
		G *storage.Group
		M []string
	}{g, members})
}

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // the storage types always marshal
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ListClients implements Target.
func (t *StoreTarget) ListClients(ctx context.Context) ([]ClientState, error) {
	cls, err := t.Store.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ClientState, 0, len(cls))
	for _, c := range cls {
		out = append(out, ClientState{Client: c, Version: ClientVersion(c)})
	}
	return out, nil
}

// GetClient implements Target.
func (t *StoreTarget) GetClient(ctx context.Context, id string) (ClientState, error) {
	c, err := t.Store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ClientState{}, ErrGone
	} else if err != nil {
		return ClientState{}, err
	}
	return ClientState{Client: c, Version: ClientVersion(c)}, nil
}

// secretHash is the hash to store for w, given the stored one.
func secretHash(w ClientWrite, stored string) string {
	switch {
	case !usesSecret(w.Client.AuthMethod):
		return ""
	case w.Secret != "":
		return storage.HashToken(w.Secret)
	}
	return stored
}

// CreateClient implements Target.
func (t *StoreTarget) CreateClient(ctx context.Context, w ClientWrite) error {
	c := w.Client.Clone()
	c.SecretHash = secretHash(w, "")
	c.CreatedAt = t.now()
	c.UpdatedAt = c.CreatedAt
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateClient(ctx, c); errors.Is(err, storage.ErrAlreadyExists) {
			return ErrExists
		} else if err != nil {
			return err
		}
		return t.audit(ctx, tx, "client.create", "client:"+c.ID, "", nil, storage.ClientSnapshot(c))
	})
}

// UpdateClient implements Target under the client's row lock: the
// version is checked against the row as locked.
func (t *StoreTarget) UpdateClient(ctx context.Context, version string, w ClientWrite) error {
	var before *storage.Client
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		after, err := tx.UpdateClient(ctx, w.Client.ID, func(c *storage.Client) error {
			if ClientVersion(c) != version {
				return ErrStale
			}
			before = c.Clone()
			n := w.Client.Clone()
			n.SecretHash = secretHash(w, c.SecretHash)
			n.CreatedAt, n.UpdatedAt = c.CreatedAt, t.now()
			*c = *n
			return nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			return ErrGone
		} else if err != nil {
			return err
		}
		return t.audit(ctx, tx, "client.update", "client:"+after.ID, "", storage.ClientSnapshot(before), storage.ClientSnapshot(after))
	})
}

// DeleteClient implements Target: the row is locked and checked first.
func (t *StoreTarget) DeleteClient(ctx context.Context, id, version string) error {
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		var stale bool
		before, err := tx.UpdateClient(ctx, id, func(c *storage.Client) error {
			stale = ClientVersion(c) != version
			return nil // keep the lock: a failed updater would release it
		})
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return ErrGone
		case err != nil:
			return err
		case stale:
			return ErrStale
		}
		if err := tx.DeleteClient(ctx, id); err != nil {
			return err
		}
		return t.audit(ctx, tx, "client.delete", "client:"+id, "", storage.ClientSnapshot(before), nil)
	})
}

// members returns the sorted usernames of a group's members.
func members(ctx context.Context, st storage.Store, groupID string) ([]string, error) {
	var names []string
	for after := ""; ; {
		page, err := st.ListGroupMembers(ctx, groupID, after, memberPage)
		if err != nil {
			return nil, err
		}
		for _, u := range page {
			names = append(names, u.Username)
		}
		if len(page) < memberPage {
			break
		}
		after = page[len(page)-1].Username
	}
	slices.Sort(names)
	return names, nil
}

// ListGroups implements Target.
func (t *StoreTarget) ListGroups(ctx context.Context) ([]GroupState, error) {
	var out []GroupState
	for after := ""; ; {
		page, err := t.Store.ListGroups(ctx, after, memberPage)
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			g := l.Group
			m, err := members(ctx, t.Store, g.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, GroupState{Group: &g, Members: m, Version: GroupVersion(&g, m)})
		}
		if len(page) < memberPage {
			return out, nil
		}
		after = page[len(page)-1].Name
	}
}

// GetGroup implements Target.
func (t *StoreTarget) GetGroup(ctx context.Context, name string) (GroupState, error) {
	g, err := t.Store.GetGroupByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return GroupState{}, ErrGone
	} else if err != nil {
		return GroupState{}, err
	}
	m, err := members(ctx, t.Store, g.ID)
	if err != nil {
		return GroupState{}, err
	}
	return GroupState{Group: g, Members: m, Version: GroupVersion(g, m)}, nil
}

// groupSnapshot is a group as the audit trail records it.
type groupSnapshot struct {
	*storage.Group
	Members []string `json:",omitempty"`
}

// CreateGroup implements Target.
func (t *StoreTarget) CreateGroup(ctx context.Context, w GroupWrite) error {
	g := *w.Group
	g.ID = storage.NewID()
	g.CreatedAt = t.now()
	g.UpdatedAt = g.CreatedAt
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateGroup(ctx, &g); errors.Is(err, storage.ErrAlreadyExists) {
			return ErrExists
		} else if err != nil {
			return err
		}
		var m []string
		if w.Members != nil {
			m = *w.Members
			if _, err := t.setMembers(ctx, tx, g.ID, nil, m); err != nil {
				return err
			}
		}
		return t.audit(ctx, tx, "group.create", "group:"+g.ID, "", nil, groupSnapshot{&g, m})
	})
}

// UpdateGroup implements Target: the group's row is locked, then the
// group with its members is checked against version.
func (t *StoreTarget) UpdateGroup(ctx context.Context, version string, w GroupWrite) error {
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		before, m, err := t.lockGroup(ctx, tx, w.Group.Name, version)
		if err != nil {
			return err
		}
		after, err := tx.UpdateGroup(ctx, before.ID, func(g *storage.Group) error {
			g.Description, g.Managed, g.UpdatedAt = w.Group.Description, w.Group.Managed, t.now()
			return nil
		})
		if err != nil {
			return err
		}
		newM, detail := m, ""
		if w.Members != nil {
			newM = *w.Members
			if detail, err = t.setMembers(ctx, tx, before.ID, m, newM); err != nil {
				return err
			}
		}
		return t.audit(ctx, tx, "group.update", "group:"+before.ID, detail, groupSnapshot{before, m}, groupSnapshot{after, newM})
	})
}

// lockGroup locks the named group's row and checks it, with its members,
// against version.
func (t *StoreTarget) lockGroup(ctx context.Context, tx storage.Store, name, version string) (*storage.Group, []string, error) {
	g, err := tx.GetGroupByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrGone
	} else if err != nil {
		return nil, nil, err
	}
	g, err = tx.UpdateGroup(ctx, g.ID, func(*storage.Group) error { return nil }) // the row lock
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, ErrGone
	} else if err != nil {
		return nil, nil, err
	}
	m, err := members(ctx, tx, g.ID)
	if err != nil {
		return nil, nil, err
	}
	if GroupVersion(g, m) != version {
		return nil, nil, ErrStale
	}
	return g, m, nil
}

// setMembers changes a group's membership from have to want (usernames)
// and describes the change for the audit entry.
func (t *StoreTarget) setMembers(ctx context.Context, tx storage.Store, groupID string, have, want []string) (string, error) {
	var added, removed []string
	for _, name := range want {
		if slices.Contains(have, name) {
			continue
		}
		u, err := tx.GetUserByUsername(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return "", fmt.Errorf("user %q does not exist", name)
		} else if err != nil {
			return "", err
		}
		if err := tx.AddGroupMember(ctx, groupID, u.ID); err != nil {
			return "", err
		}
		added = append(added, name)
	}
	for _, name := range have {
		if slices.Contains(want, name) {
			continue
		}
		u, err := tx.GetUserByUsername(ctx, name)
		if err != nil {
			return "", err
		}
		if err := tx.RemoveGroupMember(ctx, groupID, u.ID); err != nil {
			return "", err
		}
		removed = append(removed, name)
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "members added: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "members removed: "+strings.Join(removed, ", "))
	}
	return strings.Join(parts, "; "), nil
}

// DeleteGroup implements Target.
func (t *StoreTarget) DeleteGroup(ctx context.Context, name, version string) error {
	return t.Store.Atomically(ctx, func(tx storage.Store) error {
		g, m, err := t.lockGroup(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, g.ID); errors.Is(err, storage.ErrConflict) {
			return ErrInUse
		} else if err != nil {
			return err
		}
		return t.audit(ctx, tx, "group.delete", "group:"+g.ID, "", groupSnapshot{g, m}, nil)
	})
}

// MissingUsers implements Target.
func (t *StoreTarget) MissingUsers(ctx context.Context, usernames []string) ([]string, error) {
	var missing []string
	for _, n := range usernames {
		if _, err := t.Store.GetUserByUsername(ctx, n); errors.Is(err, storage.ErrNotFound) {
			missing = append(missing, n)
		} else if err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// audit appends the entry of a change in the change's transaction.
func (t *StoreTarget) audit(ctx context.Context, tx storage.Store, action, target, detail string, before, after any) error {
	e := storage.AuditEntry{ID: storage.NewID(), Time: t.now(), Actor: Actor, Action: action, Target: target,
		Detail: detail, Address: "cli"}
	e.Before, e.After = storage.SnapshotJSON(before), storage.SnapshotJSON(after)
	return tx.AppendAudit(ctx, &e)
}

// usesSecret reports whether a client with the method authenticates with
// a client secret.
func usesSecret(method string) bool {
	return method == storage.AuthMethodBasic || method == storage.AuthMethodPost
}
