package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// groupListPage is how many groups "group list" reads per statement.
const groupListPage = 500

// group runs "monban group add|rename|delete|list|show|add-member|remove-member".
func (c *cli) group(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "group", args,
		subcmd{"add", c.groupAdd},
		subcmd{"rename", c.groupRename},
		subcmd{"delete", c.groupDelete},
		subcmd{"list", c.groupList},
		subcmd{"show", c.groupShow},
		subcmd{"add-member", c.groupAddMember},
		subcmd{"remove-member", c.groupRemoveMember},
	)
}

// groupJSON is a group as "--output json" prints it.
type groupJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Members   *int      `json:"members,omitempty"`
	Usernames []string  `json:"usernames,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func toGroupJSON(g *storage.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, CreatedAt: g.CreatedAt.UTC()}
}

var groupFlagOf = map[string]string{userpolicy.FieldGroupName: "NAME"}

// auditCLI records an operator's change made from the command line in
// the audit trail, in the same transaction as the change (checklist R8).
// The actor is empty: the CLI acts with shell access, not as a user.
func auditCLI(ctx context.Context, st storage.Store, action, target, detail string, before, after any) error {
	e := storage.AuditEntry{ID: storage.NewID(), Time: now().UTC(), Action: action, Target: target,
		Detail: detail, Address: "cli"}
	for _, s := range []struct {
		v   any
		dst *string
	}{{before, &e.Before}, {after, &e.After}} {
		if s.v != nil {
			b, err := json.Marshal(s.v)
			if err != nil {
				return err
			}
			*s.dst = string(b)
		}
	}
	if err := st.AppendAudit(ctx, &e); err != nil {
		return dbError(err)
	}
	return nil
}

// getGroup returns the group or a "not found" error for the operator.
func getGroup(ctx context.Context, st storage.Store, name string) (*storage.Group, error) {
	g, err := st.GetGroupByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("group %q not found", name)
	} else if err != nil {
		return nil, dbError(err)
	}
	return g, nil
}

func (c *cli) groupAdd(ctx context.Context, args []string) error {
	cmd := c.dbCommand("group add", "NAME [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		t := now()
		g := &storage.Group{ID: storage.NewID(), Name: pos[0], CreatedAt: t, UpdatedAt: t}
		if err := flagErrors(userpolicy.ValidateGroup(g), groupFlagOf); err != nil {
			return err
		}
		err := st.Atomically(ctx, func(tx storage.Store) error {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
			return auditCLI(ctx, tx, "group.create", "group:"+g.ID, "", nil, toGroupJSON(g))
		})
		if errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("group %q already exists", g.Name)
		} else if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, toGroupJSON(g))
		}
		c.printf("Created group %q.\n", g.Name)
		return nil
	})
}

func (c *cli) groupRename(ctx context.Context, args []string) error {
	cmd := c.dbCommand("group rename", "NAME NEW-NAME [--output json]", true)
	return cmd.run(ctx, args, 2, func(st storage.Store, pos []string, js bool) error {
		if err := flagErrors(userpolicy.ValidateGroup(&storage.Group{Name: pos[1]}), map[string]string{userpolicy.FieldGroupName: "NEW-NAME"}); err != nil {
			return err
		}
		var g *storage.Group
		err := st.Atomically(ctx, func(tx storage.Store) error {
			old, err := getGroup(ctx, tx, pos[0])
			if err != nil {
				return err
			}
			if g, err = tx.RenameGroup(ctx, old.ID, pos[1], now()); err != nil {
				return err
			}
			return auditCLI(ctx, tx, "group.rename", "group:"+g.ID, "", toGroupJSON(old), toGroupJSON(g))
		})
		switch {
		case errors.Is(err, storage.ErrAlreadyExists):
			return fmt.Errorf("group %q already exists", pos[1])
		case err != nil:
			return dbErrorUnlessPlain(err)
		}
		if js {
			return writeJSON(c.stdout, toGroupJSON(g))
		}
		c.printf("Renamed group %q to %q (client rules that named it follow).\n", pos[0], g.Name)
		return nil
	})
}

func (c *cli) groupDelete(ctx context.Context, args []string) error {
	cmd := c.dbCommand("group delete", "NAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		err := st.Atomically(ctx, func(tx storage.Store) error {
			g, err := getGroup(ctx, tx, pos[0])
			if err != nil {
				return err
			}
			if err := tx.DeleteGroup(ctx, g.ID); err != nil {
				return err
			}
			return auditCLI(ctx, tx, "group.delete", "group:"+g.ID, "", toGroupJSON(g), nil)
		})
		if errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("group %q is named by a client's --allowed-group: remove it there first (monban client update ID --allowed-group …)", pos[0])
		} else if err != nil {
			return dbErrorUnlessPlain(err)
		}
		c.printf("Deleted group %q.\n", pos[0])
		return nil
	})
}

func (c *cli) groupList(ctx context.Context, args []string) error {
	cmd := c.dbCommand("group list", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		var all []*storage.GroupListing
		for after := ""; ; {
			page, err := st.ListGroups(ctx, after, groupListPage)
			if err != nil {
				return dbError(err)
			}
			all = append(all, page...)
			if len(page) < groupListPage {
				break
			}
			after = page[len(page)-1].Name
		}
		if js {
			out := make([]groupJSON, 0, len(all))
			for _, l := range all {
				j := toGroupJSON(&l.Group)
				j.Members = &l.Members
				out = append(out, j)
			}
			return writeJSON(c.stdout, out)
		}
		tw := newTable(c.stdout)
		row(tw, "NAME", "ID", "MEMBERS", "CREATED")
		for _, l := range all {
			row(tw, l.Name, l.ID, fmt.Sprint(l.Members), formatTime(l.CreatedAt))
		}
		return tw.Flush()
	})
}

func (c *cli) groupShow(ctx context.Context, args []string) error {
	cmd := c.dbCommand("group show", "NAME [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		g, err := getGroup(ctx, st, pos[0])
		if err != nil {
			return err
		}
		var names []string
		for after := ""; ; {
			page, err := st.ListGroupMembers(ctx, g.ID, after, groupListPage)
			if err != nil {
				return dbError(err)
			}
			for _, u := range page {
				names = append(names, u.Username)
			}
			if len(page) < groupListPage {
				break
			}
			after = page[len(page)-1].Username
		}
		if js {
			j := toGroupJSON(g)
			n := len(names)
			j.Members, j.Usernames = &n, nonNil(names)
			return writeJSON(c.stdout, j)
		}
		c.printf("Group %q (id %s), %d member(s):\n", g.Name, g.ID, len(names))
		for _, n := range names {
			c.printf("  %s\n", clean(n))
		}
		return nil
	})
}

func (c *cli) groupAddMember(ctx context.Context, args []string) error {
	return c.groupMembership(ctx, args, "add-member", true)
}

func (c *cli) groupRemoveMember(ctx context.Context, args []string) error {
	return c.groupMembership(ctx, args, "remove-member", false)
}

// groupMembership adds or removes a member, with its audit entry. The
// change takes effect at the next request everywhere: the groups are read
// with the token's user, and the member's liveness version moves.
func (c *cli) groupMembership(ctx context.Context, args []string, sub string, add bool) error {
	cmd := c.dbCommand("group "+sub, "NAME USERNAME", false)
	return cmd.run(ctx, args, 2, func(st storage.Store, pos []string, _ bool) error {
		err := st.Atomically(ctx, func(tx storage.Store) error {
			g, err := getGroup(ctx, tx, pos[0])
			if err != nil {
				return err
			}
			u, err := getUser(ctx, tx, pos[1])
			if err != nil {
				return err
			}
			action := "group.add_member"
			if add {
				err = tx.AddGroupMember(ctx, g.ID, u.ID)
			} else {
				action = "group.remove_member"
				if err = tx.RemoveGroupMember(ctx, g.ID, u.ID); errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("user %q is not a member of group %q", pos[1], pos[0])
				}
			}
			if err != nil {
				return err
			}
			return auditCLI(ctx, tx, action, "group:"+g.ID, "user "+u.Username+" ("+u.ID+")", nil, nil)
		})
		if err != nil {
			return dbErrorUnlessPlain(err)
		}
		if add {
			c.printf("Added %q to group %q.\n", pos[1], pos[0])
		} else {
			c.printf("Removed %q from group %q.\n", pos[1], pos[0])
		}
		return nil
	})
}

// dbErrorUnlessPlain passes the operator-facing errors of this file
// through and wraps store failures with dbError. Store errors wrap a
// storage sentinel or a driver error; messages written here do not.
func dbErrorUnlessPlain(err error) error {
	for _, s := range []error{storage.ErrNotFound, storage.ErrConflict, storage.ErrAlreadyExists, storage.ErrTokenReused} {
		if errors.Is(err, s) {
			return dbError(err)
		}
	}
	var u interface{ Unwrap() error }
	if errors.As(err, &u) {
		return dbError(err)
	}
	return err
}
