package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const groupColumns = `id, name, created_at, updated_at, description, managed`

func scanGroup(row pgx.Row) (*storage.Group, error) {
	var g storage.Group
	if err := row.Scan(&g.ID, &g.Name, scanOptTime{&g.CreatedAt}, scanOptTime{&g.UpdatedAt}, &g.Description, &g.Managed); err != nil {
		return nil, err
	}
	return &g, nil
}

// CreateGroup implements storage.Groups.
func (s *Store) CreateGroup(ctx context.Context, g *storage.Group) error {
	_, err := s.db.Exec(ctx, `INSERT INTO groups (`+groupColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		g.ID, g.Name, g.CreatedAt, g.UpdatedAt, g.Description, g.Managed)
	if err != nil {
		return wrapErr(err, "create group %q", g.Name)
	}
	return nil
}

// GetGroup implements storage.Groups.
func (s *Store) GetGroup(ctx context.Context, id string) (*storage.Group, error) {
	g, err := scanGroup(s.db.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get group %q", id)
	}
	return g, nil
}

// GetGroupByName implements storage.Groups.
func (s *Store) GetGroupByName(ctx context.Context, name string) (*storage.Group, error) {
	g, err := scanGroup(s.db.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE name = $1`, name))
	if err != nil {
		return nil, wrapErr(err, "get group by name %q", name)
	}
	return g, nil
}

// RenameGroup implements storage.Groups in one transaction: the group's
// row is locked, renamed, and the clients' rules that named its old name
// follow.
func (s *Store) RenameGroup(ctx context.Context, id, newName string, at time.Time) (*storage.Group, error) {
	var out *storage.Group
	err := s.locked(ctx, func(tx pgx.Tx) error {
		var old string
		if err := tx.QueryRow(ctx, `SELECT name FROM groups WHERE id = $1 FOR UPDATE`, id).Scan(&old); err != nil {
			return wrapErr(err, "rename group %q", id)
		}
		g, err := scanGroup(tx.QueryRow(ctx, `UPDATE groups SET name = $2, updated_at = $3 WHERE id = $1
			RETURNING `+groupColumns, id, newName, at))
		if err != nil {
			return wrapErr(err, "rename group %q", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE clients SET allowed_groups = array_replace(allowed_groups, $1, $2)
			WHERE $1 = ANY (allowed_groups)`, old, newName); err != nil {
			return wrapErr(err, "rename group %q in client rules", id)
		}
		out = g
		return nil
	}, "rename group %q", id)
	return out, err
}

// DeleteGroup implements storage.Groups in one statement; memberships go
// with the group (ON DELETE CASCADE). A group a client's rule names is
// kept and reported as ErrConflict.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	var deleted, exists bool
	err := s.db.QueryRow(ctx, `WITH target AS (
			SELECT id, name FROM groups WHERE id = $1
		), del AS (
			DELETE FROM groups WHERE id = $1
			AND NOT EXISTS (SELECT 1 FROM clients, target WHERE target.name = ANY (clients.allowed_groups))
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM del), EXISTS (SELECT 1 FROM target)`, id).Scan(&deleted, &exists)
	switch {
	case err != nil:
		return wrapErr(err, "delete group %q", id)
	case !exists:
		return wrapErr(pgx.ErrNoRows, "delete group %q", id)
	case !deleted:
		return wrapErr(storage.ErrConflict, "delete group %q: a client's allowed groups name it", id)
	}
	return nil
}

// AddGroupMember implements storage.Groups: a missing group or user is a
// foreign-key violation (ErrNotFound).
func (s *Store) AddGroupMember(ctx context.Context, groupID, userID string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, groupID, userID)
	if err != nil {
		return wrapErr(err, "add user %q to group %q", userID, groupID)
	}
	return nil
}

// RemoveGroupMember implements storage.Groups.
func (s *Store) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
	if err != nil {
		return wrapErr(err, "remove user %q from group %q", userID, groupID)
	}
	return affected(tag.RowsAffected(), "remove user %q from group %q", userID, groupID)
}

// ListGroupMembers implements storage.Groups with a keyset on the
// username.
func (s *Store) ListGroupMembers(ctx context.Context, groupID, after string, limit int) ([]*storage.User, error) {
	rows, _ := s.db.Query(ctx, selectUser+` JOIN group_members m ON m.user_id = u.id
		WHERE m.group_id = $1 AND u.username COLLATE "C" > $2
		ORDER BY u.username COLLATE "C" LIMIT $3`, groupID, after, limit)
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list members of group %q", groupID)
	}
	return users, nil
}

// UpdateGroup implements storage.Groups: the row is read with SELECT …
// FOR UPDATE and written back in the same transaction, as UpdateClient
// does.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*storage.Group) error) (*storage.Group, error) {
	var out *storage.Group
	err := s.locked(ctx, func(tx pgx.Tx) error {
		old, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return wrapErr(err, "update group %q", id)
		}
		g := *old
		if err := fn(&g); err != nil {
			return fnError{err}
		}
		out, err = scanGroup(tx.QueryRow(ctx, `UPDATE groups SET description = $2, managed = $3, updated_at = $4
			WHERE id = $1 RETURNING `+groupColumns, id, g.Description, g.Managed, g.UpdatedAt))
		if err != nil {
			return wrapErr(err, "update group %q", id)
		}
		return nil
	}, "update group %q", id)
	if err != nil {
		return nil, err
	}
	return out, nil
}
