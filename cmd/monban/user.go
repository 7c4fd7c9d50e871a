package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/session"
)

// Limits on reading a password from stdin; userpolicy decides whether it
// is acceptable.
const (
	maxPasswordLen  = 1024
	passwordMaxRead = 4*maxPasswordLen + 3 // UTF-8 worst case plus "\r\n", plus one to detect overflow
)

// user runs "monban user add|list|show|update|passwd|disable|enable|delete|
// logout-everywhere|grant-admin|revoke-admin|import|export".
func (c *cli) user(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "user", args,
		subcmd{"add", c.userAdd},
		subcmd{"list", c.userList},
		subcmd{"show", c.userShow},
		subcmd{"update", c.userUpdate},
		subcmd{"passwd", c.userPasswd},
		subcmd{"disable", c.userDisable},
		subcmd{"enable", c.userEnable},
		subcmd{"delete", c.userDelete},
		subcmd{"logout-everywhere", c.userLogoutEverywhere},
		subcmd{"grant-admin", c.userGrantAdmin},
		subcmd{"revoke-admin", c.userRevokeAdmin},
		subcmd{"factors", c.userFactors},
		subcmd{"reset-factors", c.userResetFactors},
		subcmd{"import", c.userImport},
		subcmd{"export", c.userExport},
		subcmd{"links", c.userLinks},
		subcmd{"unlink", c.userUnlink},
	)
}

// userJSON is a user as "--output json" (and "user export") prints it.
// It carries the password hash only when export is asked to.
type userJSON struct {
	ID                  string                            `json:"id"`
	Username            string                            `json:"username"`
	Email               string                            `json:"email"`
	EmailVerified       bool                              `json:"email_verified"`
	Name                string                            `json:"name"`
	GivenName           string                            `json:"given_name,omitempty"`
	FamilyName          string                            `json:"family_name,omitempty"`
	MiddleName          string                            `json:"middle_name,omitempty"`
	Nickname            string                            `json:"nickname,omitempty"`
	PreferredUsername   string                            `json:"preferred_username,omitempty"`
	Profile             string                            `json:"profile,omitempty"`
	Picture             string                            `json:"picture,omitempty"`
	Website             string                            `json:"website,omitempty"`
	Gender              string                            `json:"gender,omitempty"`
	Birthdate           string                            `json:"birthdate,omitempty"`
	Zoneinfo            string                            `json:"zoneinfo,omitempty"`
	Locale              string                            `json:"locale,omitempty"`
	PhoneNumber         string                            `json:"phone_number,omitempty"`
	PhoneNumberVerified bool                              `json:"phone_number_verified,omitempty"`
	Address             *storage.Address                  `json:"address,omitempty"`
	Attributes          map[string]storage.AttributeValue `json:"attributes,omitempty"`
	Groups              []string                          `json:"groups,omitempty"`
	Disabled            bool                              `json:"disabled"`
	Admin               bool                              `json:"admin"`
	PasswordHash        string                            `json:"password_hash,omitempty"`
	CreatedAt           time.Time                         `json:"created_at"`
}

func toUserJSON(u *storage.User) userJSON {
	j := userJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name,
		GivenName: u.GivenName, FamilyName: u.FamilyName, MiddleName: u.MiddleName, Nickname: u.Nickname,
		PreferredUsername: u.PreferredUsername, Profile: u.Profile, Picture: u.Picture, Website: u.Website,
		Gender: u.Gender, Birthdate: u.Birthdate, Zoneinfo: u.Zoneinfo, Locale: u.Locale,
		PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified,
		Attributes: u.Attributes, Groups: u.Groups,
		Disabled: u.Disabled, Admin: u.Admin, CreatedAt: u.CreatedAt.UTC(),
	}
	if !u.Address.IsZero() {
		a := u.Address
		j.Address = &a
	}
	return j
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user add", "--username U [--email E] [--email-verified | --send-verification] [--name N] [claim flags] [--admin] --password-stdin [--output json]", true)
	fs := cmd.fs
	username := fs.String("username", "", "login `name` (required)")
	uf := addUserFlags(fs)
	admin := fs.Bool("admin", false, "give the user the admin role")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin, or prompt for it without echo on a terminal (required)")
	sendVerify := fs.Bool("send-verification", false, "mail the user a link that verifies their e-mail address (queued in the outbox; a running server sends it)")
	_, js, err := cmd.parse(args, 0)
	if err != nil {
		return err
	}
	switch {
	case *username == "":
		return usagef("--username is required")
	case !*pwStdin:
		return usagef("--password-stdin is required: pipe the password in (it is never taken as a flag)")
	}
	u := &storage.User{ID: storage.NewID(), Username: *username, Admin: *admin}
	if err := uf.apply(u); err != nil {
		return err
	}
	if err := checkSendVerification(*sendVerify, u); err != nil {
		return err
	}
	pw, err := c.readNewPassword()
	if err != nil {
		return err
	}
	// The rules the console applies too (userpolicy), every problem at once.
	if err := flagErrors(append(userpolicy.ValidateUser(u), userpolicy.CheckPassword(pw, u)...), userClaimFlagOf); err != nil {
		return err
	}
	if u.PasswordHash, err = hashPassword(pw); err != nil {
		return err
	}

	return cmd.withStore(ctx, func(st storage.Store) error {
		t := now()
		u.CreatedAt, u.UpdatedAt = t, t
		if err := st.CreateUser(ctx, u); err != nil {
			if errors.Is(err, storage.ErrAlreadyExists) {
				return fmt.Errorf("user %q already exists", *username)
			}
			return dbError(err)
		}
		if *sendVerify {
			if err := c.queueVerification(ctx, cmd, st, u, js); err != nil {
				return err
			}
		}
		if js {
			return writeJSON(c.stdout, toUserJSON(u))
		}
		role := "user"
		if u.Admin {
			role = "admin user"
		}
		c.printf("Created %s %q (id %s).\n", role, u.Username, u.ID)
		return nil
	})
}

func (c *cli) userList(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user list", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		users, err := st.ListUsers(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, jsonList(users, toUserJSON))
		}
		tw := newTable(c.stdout)
		row(tw, "USERNAME", "ID", "EMAIL", "NAME", "ADMIN", "DISABLED", "CREATED")
		for _, u := range users {
			row(tw, u.Username, u.ID, orDash(u.Email), orDash(u.Name), yesNo(u.Admin), yesNo(u.Disabled), formatTime(u.CreatedAt))
		}
		return tw.Flush()
	})
}

func (c *cli) userPasswd(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user passwd", "USERNAME --password-stdin", false)
	pwStdin := cmd.fs.Bool("password-stdin", false, "read the new password from the first line of stdin, or prompt for it without echo on a terminal (required)")
	pos, _, err := cmd.parse(args, 1)
	if err != nil {
		return err
	}
	if !*pwStdin {
		return usagef("--password-stdin is required: pipe the password in (it is never taken as a flag)")
	}
	pw, err := c.readNewPassword()
	if err != nil {
		return err
	}
	return cmd.withStore(ctx, func(st storage.Store) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		// Checked against the user's own words, as the console does.
		if err := flagErrors(userpolicy.CheckPassword(pw, u), userFlagOf); err != nil {
			return err
		}
		hash, err := hashPassword(pw) // before the row lock: argon2id is slow
		if err != nil {
			return err
		}
		n, err := updateUser(ctx, st, pos[0], reasonPasswordChanged, func(u *storage.User) { u.PasswordHash = hash })
		if err != nil {
			return err
		}
		c.printf("Changed the password of %q; signed out %d session(s).\n", pos[0], n)
		return nil
	})
}

func (c *cli) userDisable(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user disable", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		n, err := updateUser(ctx, st, pos[0], session.ReasonUserDisabled, func(u *storage.User) { u.Disabled = true })
		if err != nil {
			return err
		}
		c.printf("Disabled user %q; signed out %d session(s).\n", pos[0], n)
		return nil
	})
}

func (c *cli) userGrantAdmin(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user grant-admin", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		if _, err := updateUser(ctx, st, pos[0], "", func(u *storage.User) { u.Admin = true }); err != nil {
			return err
		}
		c.printf("User %q is now an admin.\n", pos[0])
		return nil
	})
}

// reasonPasswordChanged is logged when a password change ends the user's
// sessions (checklist T12).
const reasonPasswordChanged = "password_changed"

// userLogoutEverywhere ends every session of the user and revokes all
// their refresh tokens, offline_access ones included; every application
// the sessions served gets a back-channel logout token from the outbox
// (checklist S6).
func (c *cli) userLogoutEverywhere(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user logout-everywhere", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		n, err := updateUser(ctx, st, pos[0], session.ReasonForcedLogout, nil)
		if err != nil {
			return err
		}
		c.printf("Signed %q out everywhere: ended %d session(s) and revoked all refresh tokens.\n", pos[0], n)
		return nil
	})
}

// getUser returns the user or a "not found" error for the operator.
func getUser(ctx context.Context, st storage.Users, username string) (*storage.User, error) {
	u, err := st.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("user %q not found", username)
	} else if err != nil {
		return nil, dbError(err)
	}
	return u, nil
}

// updateUser applies change (if any) to the user with the username, under
// the user's row lock (storage.Users.UpdateUser), so a concurrent change
// of other fields (the console, a sign-in rehash) is kept. With a
// sign-out reason it then ends all the user's sessions through the session owner (web/session),
// as the provider does: sessions and every refresh token revoked
// (offline_access too), back-channel logout enqueued (checklist S6, T12).
// It returns how many sessions were live.
func updateUser(ctx context.Context, st storage.Store, username, signOut string, change func(*storage.User)) (int, error) {
	u, err := getUser(ctx, st, username)
	if err != nil {
		return 0, err
	}
	if change != nil {
		_, err := st.UpdateUser(ctx, u.ID, func(u *storage.User) error {
			change(u)
			u.UpdatedAt = now()
			return nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			return 0, fmt.Errorf("user %q not found", username)
		} else if err != nil {
			return 0, dbError(err)
		}
	}
	if signOut == "" {
		return 0, nil
	}
	// The command's own output reports the result; the provider's logs
	// record what its worker then delivers.
	sessions, err := session.New(session.Config{Store: st, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, err
	}
	n, err := sessions.EndUserSessions(ctx, u.ID, signOut)
	if err != nil {
		return 0, dbError(err)
	}
	return n, nil
}

// hashPassword hashes a password userpolicy accepted with argon2id.
func hashPassword(pw string) (string, error) {
	hash, err := password.NewHasher(password.DefaultParams, 1).Hash(pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// readPassword reads the first line of r, without its line ending. It
// refuses only what cannot be read as one line of text (nothing, too
// long, not UTF-8); userpolicy.CheckPassword decides the rest.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, passwordMaxRead)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) == passwordMaxRead {
		return "", fmt.Errorf("password is too long: at most %d characters", maxPasswordLen)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case line == "":
		return "", errors.New("no password on stdin: pipe it in, for example printf '%s\\n' \"$PASSWORD\" | monban …")
	case !utf8.ValidString(line):
		return "", errors.New("password is not valid UTF-8")
	case utf8.RuneCountInString(line) > maxPasswordLen:
		return "", fmt.Errorf("password is too long: at most %d characters", maxPasswordLen)
	}
	return line, nil
}
