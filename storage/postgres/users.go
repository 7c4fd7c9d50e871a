package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// userTextColumns are the users columns of type text, in the order of
// userTextFields.
var userTextColumns = []string{"id", "username", "email", "name", "given_name", "family_name", "password_hash",
	"middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender",
	"birthdate", "zoneinfo", "locale", "phone_number"}

func userTextFields(u *storage.User) []*string {
	return []*string{&u.ID, &u.Username, &u.Email, &u.Name, &u.GivenName, &u.FamilyName, &u.PasswordHash,
		&u.MiddleName, &u.Nickname, &u.PreferredUsername, &u.Profile, &u.Picture, &u.Website, &u.Gender,
		&u.Birthdate, &u.Zoneinfo, &u.Locale, &u.PhoneNumber}
}

// userBoolColumns and userBoolFields: the boolean columns.
var userBoolColumns = []string{"email_verified", "disabled", "admin", "phone_number_verified"}

func userBoolFields(u *storage.User) []*bool {
	return []*bool{&u.EmailVerified, &u.Disabled, &u.Admin, &u.PhoneNumberVerified}
}

// userSelect is the select list of a user read from the users row
// aliased alias, ending with the names of the user's groups (sorted by
// bytes). outer is for a LEFT JOIN whose row may be absent (every column
// then reads as empty) and leaves out the password hash and the creation
// time (the token path never reads them: User.ClaimsView). userDest
// scans it.
func userSelect(alias string, outer bool) string {
	var cols []string
	for _, c := range userTextColumns {
		switch {
		case outer && c == "password_hash":
			cols = append(cols, "''")
		case outer:
			cols = append(cols, "COALESCE("+alias+"."+c+", '')")
		default:
			cols = append(cols, alias+"."+c)
		}
	}
	for _, c := range userBoolColumns {
		if outer {
			cols = append(cols, "COALESCE("+alias+"."+c+", false)")
		} else {
			cols = append(cols, alias+"."+c)
		}
	}
	created := alias + ".created_at"
	if outer {
		created = "NULL::timestamptz"
	}
	cols = append(cols, created, alias+".updated_at", alias+".address", alias+".attributes",
		`ARRAY(SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
			WHERE gm.user_id = `+alias+`.id ORDER BY g.name COLLATE "C")`)
	return strings.Join(cols, ", ")
}

// userDest returns the scan destinations of userSelect's columns. Call
// finishUser after the scan.
func userDest(u *storage.User, addr, attrs *[]byte) []any {
	var dest []any
	for _, f := range userTextFields(u) {
		dest = append(dest, f)
	}
	for _, f := range userBoolFields(u) {
		dest = append(dest, f)
	}
	return append(dest, scanOptTime{&u.CreatedAt}, scanOptTime{&u.UpdatedAt}, addr, attrs, &u.Groups)
}

// finishUser decodes the JSON columns into u.
func finishUser(u *storage.User, addr, attrs []byte) error {
	if len(addr) > 0 {
		if err := json.Unmarshal(addr, &u.Address); err != nil {
			return err
		}
	}
	if len(attrs) > 0 {
		if err := json.Unmarshal(attrs, &u.Attributes); err != nil {
			return err
		}
	}
	u.Attributes = storage.CloneAttributes(u.Attributes)
	if len(u.Groups) == 0 {
		u.Groups = nil
	}
	return nil
}

// scanUser scans a row of userSelect(…, false).
func scanUser(row pgx.Row) (*storage.User, error) {
	var (
		u           storage.User
		addr, attrs []byte
	)
	if err := row.Scan(userDest(&u, &addr, &attrs)...); err != nil {
		return nil, err
	}
	if err := finishUser(&u, addr, attrs); err != nil {
		return nil, err
	}
	return &u, nil
}

// userWriteColumns are the columns CreateUser and UpdateUser write, in
// userWriteArgs order ($1 … $n).
var userWriteColumns = append(append(slicesClone(userTextColumns), userBoolColumns...),
	"created_at", "updated_at", "address", "attributes")

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func userWriteArgs(u *storage.User) ([]any, error) {
	var args []any
	for _, f := range userTextFields(u) {
		args = append(args, *f)
	}
	for _, f := range userBoolFields(u) {
		args = append(args, *f)
	}
	addr, err := json.Marshal(u.Address)
	if err != nil {
		return nil, err
	}
	attrs := []byte("{}")
	if len(u.Attributes) > 0 {
		if attrs, err = json.Marshal(u.Attributes); err != nil {
			return nil, err
		}
	}
	return append(args, u.CreatedAt, u.UpdatedAt, string(addr), string(attrs)), nil
}

// itoa formats i in decimal.
func itoa(i int) string { return strconv.Itoa(i) }

// placeholders returns "$1, $2, …, $n".
func placeholders(n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	return strings.Join(ps, ", ")
}

// setList returns "c1 = $k, c2 = $k+1, …" for the columns from $first on.
func setList(cols []string, first int) string {
	ps := make([]string, len(cols))
	for i, c := range cols {
		ps[i] = c + " = $" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

var (
	insertUser = `INSERT INTO users (` + strings.Join(userWriteColumns, ", ") + `) VALUES (` + placeholders(len(userWriteColumns)) + `)`
	// updateUser writes every column but id (the first) and created_at.
	updateUserSQL = `UPDATE users SET ` + setList(userWriteColumns[1:], 2) + ` WHERE id = $1`
	selectUser    = `SELECT ` + userSelect("u", false) + ` FROM users u`
)

// CreateUser implements storage.Users. Groups are ignored.
func (s *Store) CreateUser(ctx context.Context, u *storage.User) error {
	args, err := userWriteArgs(u)
	if err != nil {
		return wrapErr(err, "create user %q", u.ID)
	}
	if _, err := s.db.Exec(ctx, insertUser, args...); err != nil {
		return wrapErr(err, "create user %q", u.ID)
	}
	return nil
}

// GetUser implements storage.Users.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, selectUser+` WHERE u.id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get user %q", id)
	}
	return u, nil
}

// GetUserByUsername implements storage.Users.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*storage.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, selectUser+` WHERE u.username = $1`, username))
	if err != nil {
		return nil, wrapErr(err, "get user by username %q", username)
	}
	return u, nil
}

// ListUsers implements storage.Users. Usernames are ordered by bytes
// (COLLATE "C"), as Go compares strings.
func (s *Store) ListUsers(ctx context.Context) ([]*storage.User, error) {
	rows, _ := s.db.Query(ctx, selectUser+` ORDER BY u.username COLLATE "C"`)
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list users")
	}
	return users, nil
}

// UpdateUser implements storage.Users: the row is read with SELECT … FOR
// UPDATE and written back in the same transaction (a savepoint inside
// Atomically), so a concurrent UpdateUser or SetPasswordHash on the user
// waits for it. Groups are ignored (and returned as stored).
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*storage.User) error) (*storage.User, error) {
	var out *storage.User
	err := s.locked(ctx, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, selectUser+` WHERE u.id = $1 FOR UPDATE OF u`, id))
		if err != nil {
			return wrapErr(err, "update user %q", id)
		}
		u := *old
		u.Attributes = storage.CloneAttributes(old.Attributes)
		u.Groups = append([]string(nil), old.Groups...)
		if err := fn(&u); err != nil {
			return fnError{err}
		}
		u.ID, u.CreatedAt, u.Groups = old.ID, old.CreatedAt, old.Groups
		args, err := userWriteArgs(&u)
		if err != nil {
			return wrapErr(err, "update user %q", id)
		}
		// created_at is written back as stored.
		if _, err = tx.Exec(ctx, updateUserSQL, args...); err != nil {
			return wrapErr(err, "update user %q", id)
		}
		u.Attributes = storage.CloneAttributes(u.Attributes)
		out = &u
		return nil
	}, "update user %q", id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetPasswordHash implements storage.Users with one compare-and-set
// statement.
func (s *Store) SetPasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	tag, err := s.db.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`,
		id, oldHash, newHash)
	if err != nil {
		return wrapErr(err, "set password hash of user %q", id)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.notFoundOr(ctx, storage.ErrConflict, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, id,
		"set password hash of user %q: it changed since it was read", id)
}

// DeleteUser implements storage.Users: ON DELETE CASCADE removes the
// user's sessions, consents, refresh tokens and memberships; a
// deadlock with a rotation of one of its tokens is tried again, as for
// DeleteClient.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.deleteParent(ctx, `DELETE FROM users WHERE id = $1`, id, "delete user %q")
}

// CountEnabledAdmins implements storage.Users on the partial index of
// migration 00011.
func (s *Store) CountEnabledAdmins(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE admin AND NOT disabled`).Scan(&n); err != nil {
		return 0, wrapErr(err, "count administrators")
	}
	return n, nil
}
