package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/web/session"
)

// Limits on user attributes and passwords.
const (
	maxUsernameLen  = 100
	maxNameLen      = 200
	maxEmailLen     = 254
	minPasswordLen  = 8
	maxPasswordLen  = 1024
	passwordMaxRead = 4*maxPasswordLen + 3 // UTF-8 worst case plus "\r\n", plus one to detect overflow
)

// user runs "monban user add|list|passwd|disable|logout-everywhere|grant-admin".
func (c *cli) user(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "user", args,
		subcmd{"add", c.userAdd},
		subcmd{"list", c.userList},
		subcmd{"passwd", c.userPasswd},
		subcmd{"disable", c.userDisable},
		subcmd{"logout-everywhere", c.userLogoutEverywhere},
		subcmd{"grant-admin", c.userGrantAdmin},
	)
}

// userJSON is a user as "--output json" prints it. It never carries the
// password hash.
type userJSON struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Disabled  bool      `json:"disabled"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u *storage.User) userJSON {
	return userJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name,
		Disabled: u.Disabled, Admin: u.Admin, CreatedAt: u.CreatedAt.UTC(),
	}
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user add", "--username U [--email E] [--name N] [--admin] --password-stdin [--output json]", true)
	fs := cmd.fs
	username := fs.String("username", "", "login `name` (required)")
	email := fs.String("email", "", "e-mail `address`")
	fullName := fs.String("name", "", "full display `name`")
	admin := fs.Bool("admin", false, "give the user the admin role")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (required)")
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
	if err := errors.Join(validateUsername(*username), validateEmail(*email), validateName(*fullName)); err != nil {
		return err
	}
	hash, err := c.readPasswordHash()
	if err != nil {
		return err
	}

	return cmd.withStore(ctx, func(st storage.Store) error {
		t := now()
		u := &storage.User{
			ID:           storage.NewID(),
			Username:     *username,
			Email:        *email,
			Name:         *fullName,
			PasswordHash: hash,
			Admin:        *admin,
			CreatedAt:    t,
			UpdatedAt:    t,
		}
		if err := st.CreateUser(ctx, u); err != nil {
			if errors.Is(err, storage.ErrAlreadyExists) {
				return fmt.Errorf("user %q already exists", *username)
			}
			return dbError(err)
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
	pwStdin := cmd.fs.Bool("password-stdin", false, "read the new password from the first line of stdin (required)")
	pos, _, err := cmd.parse(args, 1)
	if err != nil {
		return err
	}
	if !*pwStdin {
		return usagef("--password-stdin is required: pipe the password in (it is never taken as a flag)")
	}
	hash, err := c.readPasswordHash()
	if err != nil {
		return err
	}
	return cmd.withStore(ctx, func(st storage.Store) error {
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

// updateUser applies change (if any) to the user with the username and
// stores it. With a sign-out reason it then ends all the user's sessions
// through the session owner (web/session), as the provider does: sessions and every refresh
// token revoked (offline_access too), back-channel logout enqueued
// (checklist S6, T12). It returns how many sessions were live.
func updateUser(ctx context.Context, st storage.Store, username, signOut string, change func(*storage.User)) (int, error) {
	u, err := st.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("user %q not found", username)
	} else if err != nil {
		return 0, dbError(err)
	}
	if change != nil {
		change(u)
		u.UpdatedAt = now()
		if err := st.UpdateUser(ctx, u); err != nil {
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

// readPasswordHash reads the password from stdin and hashes it with
// argon2id.
func (c *cli) readPasswordHash() (string, error) {
	pw, err := readPassword(c.stdin)
	if err != nil {
		return "", err
	}
	if err := password.CheckPolicy(pw, "monban"); err != nil { // checklist S13
		return "", err
	}
	hash, err := password.NewHasher(password.DefaultParams, 1).Hash(pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// readPassword reads the first line of r, without its line ending, and
// checks its length (in characters, not bytes).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, passwordMaxRead)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) == passwordMaxRead {
		return "", fmt.Errorf("password is too long: at most %d characters", maxPasswordLen)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	n := utf8.RuneCountInString(line)
	switch {
	case line == "":
		return "", errors.New("no password on stdin: pipe it in, for example printf '%s\\n' \"$PASSWORD\" | monban …")
	case !utf8.ValidString(line):
		return "", errors.New("password is not valid UTF-8")
	case n < minPasswordLen:
		return "", fmt.Errorf("password is too short: at least %d characters", minPasswordLen)
	case n > maxPasswordLen:
		return "", fmt.Errorf("password is too long: at most %d characters", maxPasswordLen)
	}
	return line, nil
}

// validateUsername checks a new login name.
func validateUsername(s string) error {
	switch {
	case s == "":
		return errors.New("username must not be empty")
	case !utf8.ValidString(s):
		return errors.New("username is not valid UTF-8")
	case utf8.RuneCountInString(s) > maxUsernameLen:
		return fmt.Errorf("username is longer than %d characters", maxUsernameLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("username %q contains control characters", s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("username %q starts or ends with white space", s)
	}
	return nil
}

// validateEmail checks an optional e-mail address: a bare addr-spec,
// without display name or angle brackets.
func validateEmail(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxEmailLen {
		return fmt.Errorf("e-mail address is longer than %d characters", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Errorf("e-mail address %q is not valid (want name@example.com)", s)
	}
	return nil
}

// validateName checks an optional display name.
func validateName(s string) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("name is not valid UTF-8")
	case utf8.RuneCountInString(s) > maxNameLen:
		return fmt.Errorf("name is longer than %d characters", maxNameLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("name %q contains control characters", s)
	}
	return nil
}
