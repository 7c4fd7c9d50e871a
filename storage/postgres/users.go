package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const userColumns = `id, username, email, email_verified, name, given_name, family_name,
	password_hash, disabled, admin, created_at, updated_at`

func scanUser(row pgx.Row) (*storage.User, error) {
	var u storage.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.GivenName, &u.FamilyName,
		&u.PasswordHash, &u.Disabled, &u.Admin, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser implements storage.Users.
func (s *Store) CreateUser(ctx context.Context, u *storage.User) error {
	_, err := s.db.Exec(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.GivenName, u.FamilyName,
		u.PasswordHash, u.Disabled, u.Admin, u.CreatedAt, u.UpdatedAt)
	if err != nil {
		return wrapErr(err, "create user %q", u.ID)
	}
	return nil
}

// GetUser implements storage.Users.
func (s *Store) GetUser(ctx context.Context, id string) (*storage.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get user %q", id)
	}
	return u, nil
}

// GetUserByUsername implements storage.Users.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*storage.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return nil, wrapErr(err, "get user by username %q", username)
	}
	return u, nil
}

// ListUsers implements storage.Users. Usernames are ordered by bytes
// (COLLATE "C"), as Go compares strings.
func (s *Store) ListUsers(ctx context.Context) ([]*storage.User, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username COLLATE "C"`)
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list users")
	}
	return users, nil
}

// UpdateUser implements storage.Users: the row is read with SELECT … FOR
// UPDATE and written back in the same transaction (a savepoint inside
// Atomically), so a concurrent UpdateUser or SetPasswordHash on the user
// waits for it.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*storage.User) error) (*storage.User, error) {
	var out *storage.User
	err := s.locked(ctx, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return wrapErr(err, "update user %q", id)
		}
		u := *old
		if err := fn(&u); err != nil {
			return fnError{err}
		}
		u.ID, u.CreatedAt = old.ID, old.CreatedAt
		_, err = tx.Exec(ctx, `UPDATE users SET username = $2, email = $3, email_verified = $4,
			name = $5, given_name = $6, family_name = $7, password_hash = $8, disabled = $9, admin = $10,
			updated_at = $11
			WHERE id = $1`,
			u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.GivenName, u.FamilyName,
			u.PasswordHash, u.Disabled, u.Admin, u.UpdatedAt)
		if err != nil {
			return wrapErr(err, "update user %q", id)
		}
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
