package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// searchBranch is one way a user matches a search: the lower-case
// column col is in the range [$2, $3) (the prefix, then the prefix and
// the largest code point; a range on the lower-case indexes of migration
// 00011, which a generic plan can use, unlike LIKE), after (or before)
// the cursor $1 in the search order, the first $4 of them. Each
// branch is limited by itself, so a prefix that matches a hundred
// thousand usernames reads a page of them from the index in order instead
// of sorting them all.
func searchBranch(col, cmp, dir string) string {
	return `(SELECT u.id, lower(u.username) COLLATE "C" AS k1, u.username COLLATE "C" AS k2 FROM users u
		WHERE ` + col + ` COLLATE "C" >= $2 AND ` + col + ` COLLATE "C" < $3
			AND (lower(u.username) COLLATE "C", u.username COLLATE "C") ` + cmp + ` (lower($1::text) COLLATE "C", $1::text COLLATE "C")
		ORDER BY lower(u.username) COLLATE "C" ` + dir + `, u.username COLLATE "C" ` + dir + ` LIMIT $4)`
}

// searchUsers is the statement of a search page: the union of the three
// branches (username, e-mail address, name), in the search order
// (lower-case username, then username: storage.UserQuery).
func searchUsers(backwards bool) string {
	cmp, dir := ">", "ASC"
	if backwards {
		cmp, dir = "<", "DESC"
	}
	return selectUser + ` JOIN (SELECT DISTINCT ON (id) id, k1, k2 FROM (` +
		searchBranch("lower(u.username)", cmp, dir) + ` UNION ALL ` +
		searchBranch("lower(u.email)", cmp, dir) + ` UNION ALL ` +
		searchBranch("lower(u.name)", cmp, dir) + `) b) m ON m.id = u.id
		ORDER BY m.k1 ` + dir + `, m.k2 ` + dir + ` LIMIT $4`
}

// ListUsersPage implements storage.Lists in one statement.
func (s *Store) ListUsersPage(ctx context.Context, q storage.UserQuery) ([]*storage.User, error) {
	cursor, backwards := q.After, q.Before != ""
	if backwards {
		cursor = q.Before
	}
	var rows pgx.Rows
	if q.Search == "" {
		stmt := selectUser + ` WHERE u.username COLLATE "C" > $1 ORDER BY u.username COLLATE "C" LIMIT $2`
		if backwards { // the previous page: backwards from the cursor, then turned around
			stmt = selectUser + ` WHERE u.username COLLATE "C" < $1 ORDER BY u.username COLLATE "C" DESC LIMIT $2`
		}
		rows, _ = s.db.Query(ctx, stmt, cursor, max(q.Limit, 0))
	} else {
		p := strings.ToLower(q.Search)
		rows, _ = s.db.Query(ctx, searchUsers(backwards), cursor, p, p+"\U0010FFFF", max(q.Limit, 0))
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list users page")
	}
	if backwards {
		slices.Reverse(users)
	}
	return users, nil
}

// ListGroups implements storage.Lists in one statement; the member counts
// are per group on the page (an index range each).
func (s *Store) ListGroups(ctx context.Context, after string, limit int) ([]*storage.GroupListing, error) {
	// The page is chosen first, so the members are counted for its groups
	// only. The count is a range on the primary key, not an equality: for
	// a correlated g.id the planner estimates an equality at (members ÷
	// distinct groups) rows, which with one huge group (everyone in
	// "staff") is every membership and makes it scan group_members once
	// per group on the page (a second per page at 100,000 members); a
	// range is estimated at a small fraction and reads the index.
	rows, _ := s.db.Query(ctx, `SELECT `+groupColumns+`,
			(SELECT count(*) FROM group_members m WHERE m.group_id >= g.id AND m.group_id <= g.id)
		FROM (SELECT * FROM groups WHERE name COLLATE "C" > $1 ORDER BY name COLLATE "C" LIMIT $2) g
		ORDER BY g.name COLLATE "C"`, after, max(limit, 0))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.GroupListing, error) {
		var l storage.GroupListing
		err := r.Scan(&l.ID, &l.Name, scanOptTime{&l.CreatedAt}, scanOptTime{&l.UpdatedAt}, &l.Description, &l.Managed, &l.Members)
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
			s.expires_at, s.ended_at, s.address, s.user_agent, COALESCE(u.username, ''),
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
			scanOptTime{&ss.ExpiresAt}, scanOptTime{&ss.EndedAt}, &ss.Address, &ss.UserAgent, &l.Username, &l.ClientIDs)
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
