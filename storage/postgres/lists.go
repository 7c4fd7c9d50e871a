package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// userSearch is the case-insensitive prefix filter of ListUsersPage, as
// ranges on the lower-case indexes of migration 00011: $2 is the lower-
// case prefix, $3 the prefix followed by the largest code point.
const userSearch = `($2 = '' OR (lower(u.username) COLLATE "C" >= $2 AND lower(u.username) COLLATE "C" < $3)
	OR (lower(u.email) COLLATE "C" >= $2 AND lower(u.email) COLLATE "C" < $3)
	OR (lower(u.name) COLLATE "C" >= $2 AND lower(u.name) COLLATE "C" < $3))`

// ListUsersPage implements storage.Lists in one statement.
func (s *Store) ListUsersPage(ctx context.Context, q storage.UserQuery) ([]*storage.User, error) {
	p := strings.ToLower(q.Search)
	stmt := selectUser + ` WHERE u.username COLLATE "C" > $1 AND ` + userSearch + `
		ORDER BY u.username COLLATE "C" LIMIT $4`
	cursor := q.After
	if q.Before != "" { // the previous page: backwards from the cursor, then turned around
		stmt = selectUser + ` WHERE u.username COLLATE "C" < $1 AND ` + userSearch + `
		ORDER BY u.username COLLATE "C" DESC LIMIT $4`
		cursor = q.Before
	}
	rows, _ := s.db.Query(ctx, stmt, cursor, p, p+"\U0010FFFF", max(q.Limit, 0))
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list users page")
	}
	if q.Before != "" {
		slices.Reverse(users)
	}
	return users, nil
}

// ListGroups implements storage.Lists in one statement; the member counts
// are per group on the page (an index range each).
func (s *Store) ListGroups(ctx context.Context, after string, limit int) ([]*storage.GroupListing, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+groupColumns+`,
			(SELECT count(*) FROM group_members m WHERE m.group_id = g.id)
		FROM groups g WHERE name COLLATE "C" > $1 ORDER BY name COLLATE "C" LIMIT $2`, after, max(limit, 0))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.GroupListing, error) {
		var l storage.GroupListing
		err := r.Scan(&l.ID, &l.Name, scanOptTime{&l.CreatedAt}, scanOptTime{&l.UpdatedAt}, &l.Members)
		return &l, err
	})
	if err != nil {
		return nil, wrapErr(err, "list groups")
	}
	return out, nil
}

// ListSessionsPage implements storage.Lists in one statement: the
// username and the served clients come with each row.
func (s *Store) ListSessionsPage(ctx context.Context, q storage.SessionQuery) ([]*storage.SessionListing, error) {
	stmt := `SELECT s.id, s.user_id, s.auth_time, s.amr, s.created_at, s.last_seen_at,
			s.expires_at, s.ended_at, COALESCE(u.username, ''),
			ARRAY(SELECT c.client_id FROM session_clients c WHERE c.session_id = s.id ORDER BY c.client_id COLLATE "C")
		FROM sessions s LEFT JOIN users u ON u.id = s.user_id
		WHERE s.revoked_at IS NULL AND ($1 = '' OR s.user_id = $1)
			AND ($2 OR (s.created_at, s.id COLLATE "C") < ($3, $4))
		ORDER BY s.created_at DESC, s.id COLLATE "C" DESC LIMIT $5`
	cursor := q.After
	if !q.Before.IsZero() { // the previous page: backwards from the cursor, then turned around
		stmt = strings.Replace(strings.Replace(stmt, `) < ($3, $4)`, `) > ($3, $4)`, 1),
			`s.created_at DESC, s.id COLLATE "C" DESC`, `s.created_at, s.id COLLATE "C"`, 1)
		cursor = q.Before
	}
	rows, _ := s.db.Query(ctx, stmt, q.UserID, cursor.IsZero(), cursor.CreatedAt, cursor.ID, max(q.Limit, 0))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.SessionListing, error) {
		var l storage.SessionListing
		ss := &l.Session
		err := r.Scan(&ss.ID, &ss.UserID, &ss.AuthTime, &ss.AMR, scanOptTime{&ss.CreatedAt}, scanOptTime{&ss.LastSeenAt},
			scanOptTime{&ss.ExpiresAt}, scanOptTime{&ss.EndedAt}, &l.Username, &l.ClientIDs)
		if len(l.ClientIDs) == 0 {
			l.ClientIDs = nil
		}
		return &l, err
	})
	if err != nil {
		return nil, wrapErr(err, "list sessions page")
	}
	if !q.Before.IsZero() {
		slices.Reverse(out)
	}
	return out, nil
}

// ListClientsPage implements storage.Lists in one statement.
func (s *Store) ListClientsPage(ctx context.Context, after string, limit int) ([]*storage.Client, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE id COLLATE "C" > $1
		ORDER BY id COLLATE "C" LIMIT $2`, after, max(limit, 0))
	clients, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, wrapErr(err, "list clients page")
	}
	return clients, nil
}

// exactCountBelow is the table size (by the planner's statistics) under
// which CountRows counts rows instead of estimating them.
const exactCountBelow = 50000

// CountRows implements storage.Lists in one statement: a table whose
// statistics say it has fewer than exactCountBelow rows (or that was never
// analysed) is counted; a larger one is estimated from pg_class.reltuples.
func (s *Store) CountRows(ctx context.Context) (storage.Counts, error) {
	var c storage.Counts
	count := func(table, where string) string {
		return `(SELECT CASE WHEN reltuples >= ` + itoa(exactCountBelow) + ` THEN reltuples::bigint
			ELSE (SELECT count(*) FROM ` + table + ` ` + where + `) END FROM pg_class WHERE oid = '` + table + `'::regclass)`
	}
	err := s.db.QueryRow(ctx, `SELECT `+count("users", "")+`, `+count("groups", "")+`, `+count("clients", "")+`, `+
		count("sessions", "WHERE revoked_at IS NULL")+`,
		(SELECT bool_or(reltuples >= `+itoa(exactCountBelow)+`) FROM pg_class
			WHERE oid IN ('users'::regclass, 'groups'::regclass, 'clients'::regclass, 'sessions'::regclass))`).
		Scan(&c.Users, &c.Groups, &c.Clients, &c.Sessions, &c.Estimated)
	if err != nil {
		return storage.Counts{}, wrapErr(err, "count rows")
	}
	return c, nil
}
