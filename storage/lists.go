package storage

import (
	"context"
	"strings"
	"time"
)

// Lists are the keyset-paginated reads of the admin console: each is one
// statement whose cost depends on the page size, not on the number of
// rows, and none loads a whole table. A page holds up to Limit rows after
// the cursor (the zero cursor starts at the beginning); the next page's
// cursor is taken from the last row returned.
type Lists interface {
	// ListUsersPage returns users ordered by username (bytes) or, with a
	// search, by lower-case username then username (bytes), whose
	// username is after q.After in that order (or, when q.Before is set, the last
	// q.Limit of those before q.Before: the previous page) and, when q.Search is not empty, whose
	// username, e-mail address or name starts with q.Search, ignoring
	// case (MatchUserSearch).
	ListUsersPage(ctx context.Context, q UserQuery) ([]*User, error)
	// ListGroups returns groups ordered by name (bytes) after the name
	// after, each with Members set.
	ListGroups(ctx context.Context, after string, limit int) ([]*GroupListing, error)
	// ListSessionsPage returns sessions that are not revoked, newest
	// first (CreatedAt, then ID, descending) and strictly after q.After in
	// that order (or, when q.Before is set, the q.Limit sessions right
	// before q.Before in that order, still newest first: the previous
	// page), only q.UserID's when it is set, each with its user's
	// username and the clients it served (ordered by ID).
	ListSessionsPage(ctx context.Context, q SessionQuery) ([]*SessionListing, error)
	// ListClientsPage returns clients ordered by ID (bytes) after the ID
	// after.
	ListClientsPage(ctx context.Context, after string, limit int) ([]*Client, error)
	// CountRows returns the number of users, groups, clients and live
	// (not revoked) sessions. A table too large to count on every page
	// view is estimated from the database's statistics; Estimated says
	// so, and the console labels the numbers as such.
	CountRows(ctx context.Context) (Counts, error)
}

// UserQuery selects a page of users (Lists.ListUsersPage).
type UserQuery struct {
	Search string // prefix of the username, e-mail address or name; "" for all
	After  string // username of the last row of the previous page
	Before string // username of the first row of the next page; wins over After
	Limit  int
}

// MatchUserSearch reports whether u matches the search prefix of a
// UserQuery: its username, e-mail address or name starts with it, compared
// in lower case. Stores that filter in memory use it; the others agree.
func MatchUserSearch(u *User, search string) bool {
	p := strings.ToLower(search)
	return p == "" || strings.HasPrefix(strings.ToLower(u.Username), p) ||
		strings.HasPrefix(strings.ToLower(u.Email), p) || strings.HasPrefix(strings.ToLower(u.Name), p)
}

// GroupListing is a group with its number of members.
type GroupListing struct {
	Group
	Members int
}

// SessionQuery selects a page of sessions (Lists.ListSessionsPage).
type SessionQuery struct {
	UserID string // only this user's sessions; "" for everyone's
	After  SessionCursor
	Before SessionCursor // the first row of the next page; wins over After
	Limit  int
}

// SessionCursor is the position of a session in the newest-first order.
type SessionCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether the cursor is at the start.
func (c SessionCursor) IsZero() bool { return c.ID == "" && c.CreatedAt.IsZero() }

// SessionListing is a session as the admin list shows it. Session has an
// empty TokenHash: the list never reads it.
type SessionListing struct {
	Session   Session
	Username  string   // "" when the user is gone
	ClientIDs []string // clients the session served, ordered by ID
}

// Counts are the sizes of the admin lists (Lists.CountRows).
type Counts struct {
	Users, Groups, Clients, Sessions int64
	// Estimated is true when a number came from statistics, not a count.
	Estimated bool
}
