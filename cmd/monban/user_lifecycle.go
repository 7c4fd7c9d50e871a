package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/session"
)

// reasonUserDeleted is logged when deleting a user ends their sessions.
const reasonUserDeleted = "user_deleted"

// errLastAdmin refuses to leave the provider without an administrator.
var errLastAdmin = errors.New("this is the last enabled administrator: grant another user admin first (monban user grant-admin USERNAME)")

func (c *cli) userShow(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user show", "USERNAME [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if js {
			return writeJSON(c.stdout, toUserJSON(u))
		}
		tw := newTable(c.stdout)
		for _, f := range []struct{ k, v string }{
			{"Username", u.Username}, {"ID", u.ID}, {"E-mail", orDash(u.Email)}, {"E-mail verified", yesNo(u.EmailVerified)},
			{"Name", orDash(u.Name)}, {"Given name", orDash(u.GivenName)}, {"Family name", orDash(u.FamilyName)},
			{"Phone", orDash(u.PhoneNumber)}, {"Locale", orDash(u.Locale)}, {"Time zone", orDash(u.Zoneinfo)},
			{"Groups", orDash(fmt.Sprint(u.Groups))}, {"Admin", yesNo(u.Admin)}, {"Disabled", yesNo(u.Disabled)},
			{"Created", formatTime(u.CreatedAt)}, {"Updated", formatTime(u.UpdatedAt)},
		} {
			row(tw, f.k+":", f.v)
		}
		for k, v := range u.Attributes {
			row(tw, "Attribute "+k+":", fmt.Sprint(v.Claim()))
		}
		return tw.Flush()
	})
}

// userUpdate changes the attributes given as flags, under the user's row
// lock, and validates the result as the console does (userpolicy).
func (c *cli) userUpdate(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user update", "USERNAME [--username NEW] [--email E] [--email-verified[=BOOL]] [claim flags] [--attribute K=V...] [--output json]", true)
	newName := cmd.fs.String("username", "", "new login `name`")
	uf := addUserFlags(cmd.fs)
	pos, js, err := cmd.parse(args, 1)
	if err != nil {
		return err
	}
	set := flagsSet(cmd.fs)
	for _, f := range []string{"output", "config", "database-url"} {
		delete(set, f)
	}
	if len(set) == 0 {
		return usagef("nothing to change: give at least one attribute")
	}
	return cmd.withStore(ctx, func(st storage.Store) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		var before userJSON
		err = st.Atomically(ctx, func(tx storage.Store) error {
			updated, err := tx.UpdateUser(ctx, u.ID, func(u *storage.User) error {
				before = toUserJSON(u)
				if set["username"] {
					u.Username = *newName
				}
				if err := uf.apply(u); err != nil {
					return policyError{err}
				}
				if err := flagErrors(userpolicy.ValidateUser(u), userClaimFlagOf); err != nil {
					return policyError{err}
				}
				u.UpdatedAt = now()
				return nil
			})
			if err != nil {
				return err
			}
			u = updated
			return auditCLI(ctx, tx, "user.update", "user:"+u.ID, "", before, toUserJSON(u))
		})
		switch {
		case errors.Is(err, storage.ErrAlreadyExists):
			return fmt.Errorf("user %q already exists", *newName)
		case err != nil:
			return storeOrPolicyError(err)
		}
		if js {
			return writeJSON(c.stdout, toUserJSON(u))
		}
		c.printf("Updated user %q.\n", u.Username)
		return nil
	})
}

func (c *cli) userEnable(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user enable", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		if _, err := updateUser(ctx, st, pos[0], "", func(u *storage.User) { u.Disabled = false }); err != nil {
			return err
		}
		c.printf("Enabled user %q.\n", pos[0])
		return nil
	})
}

// userRevokeAdmin takes the admin role away, unless the user is the last
// enabled administrator.
func (c *cli) userRevokeAdmin(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user revoke-admin", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		err = st.Atomically(ctx, func(tx storage.Store) error {
			if err := guardLastAdmin(ctx, tx, u); err != nil {
				return err
			}
			_, err := tx.UpdateUser(ctx, u.ID, func(u *storage.User) error {
				u.Admin, u.UpdatedAt = false, now()
				return nil
			})
			if err != nil {
				return err
			}
			return auditCLI(ctx, tx, "user.revoke_admin", "user:"+u.ID, "", nil, nil)
		})
		if err != nil {
			return dbErrorUnlessPlain(err)
		}
		c.printf("User %q is no longer an admin.\n", pos[0])
		return nil
	})
}

// guardLastAdmin refuses a change that takes the role from u when u is
// the last enabled administrator. Concurrent changes of two admins can
// both pass (READ COMMITTED); the window is an operator's keystroke.
func guardLastAdmin(ctx context.Context, st storage.Store, u *storage.User) error {
	if !u.Admin || u.Disabled {
		return nil
	}
	n, err := st.CountEnabledAdmins(ctx)
	if err != nil {
		return dbError(err)
	}
	if n <= 1 {
		return errLastAdmin
	}
	return nil
}

// userDelete ends the user's sessions (revoking every refresh token and
// enqueueing back-channel logout for every application they served, as
// "logout-everywhere" does), then deletes the user with an audit entry.
// Their access tokens are inactive at the next request: introspection and
// UserInfo find no user.
func (c *cli) userDelete(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user delete", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if err := guardLastAdmin(ctx, st, u); err != nil {
			return err
		}
		sessions, err := session.New(session.Config{Store: st, Now: now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		n, err := sessions.EndUserSessions(ctx, u.ID, reasonUserDeleted)
		if err != nil {
			return dbError(err)
		}
		err = st.Atomically(ctx, func(tx storage.Store) error {
			if err := tx.DeleteUser(ctx, u.ID); err != nil {
				return err
			}
			return auditCLI(ctx, tx, "user.delete", "user:"+u.ID, fmt.Sprintf("%d session(s) ended", n), toUserJSON(u), nil)
		})
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("user %q not found", pos[0])
		} else if err != nil {
			return dbErrorUnlessPlain(err)
		}
		c.printf("Deleted user %q; signed out %d session(s).\n", pos[0], n)
		return nil
	})
}
