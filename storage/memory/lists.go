package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/monban-idp/monban/storage"
)

// page keeps the first limit elements of sorted.
func page[T any](sorted []T, limit int) []T { return sorted[:min(len(sorted), max(limit, 0))] }

// ListUsersPage implements storage.Lists.
func (s *Store) ListUsersPage(_ context.Context, q storage.UserQuery) ([]*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.User
	order := func(a, b string) int { return cmp.Compare(a, b) }
	if q.Search != "" { // a search is in the order of the lower-case username
		order = func(a, b string) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a), strings.ToLower(b)), cmp.Compare(a, b))
		}
	}
	for _, u := range s.users {
		inRange := order(u.Username, q.After) > 0
		if q.Before != "" {
			inRange = order(u.Username, q.Before) < 0
		}
		if inRange && storage.MatchUserSearch(u, q.Search) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *storage.User) int { return order(a.Username, b.Username) })
	if q.Before != "" {
		out = out[max(len(out)-max(q.Limit, 0), 0):]
	} else {
		out = page(out, q.Limit)
	}
	for i, u := range out {
		out[i] = s.userOut(u)
	}
	return out, nil
}

// ListGroups implements storage.Lists.
func (s *Store) ListGroups(_ context.Context, after string, limit int) ([]*storage.GroupListing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.GroupListing
	for _, g := range s.groups {
		if g.Name > after {
			out = append(out, &storage.GroupListing{Group: *cloneGroup(g), Members: len(s.members[g.ID])})
		}
	}
	slices.SortFunc(out, func(a, b *storage.GroupListing) int { return cmp.Compare(a.Name, b.Name) })
	return page(out, limit), nil
}

// ListSessionsPage implements storage.Lists.
func (s *Store) ListSessionsPage(_ context.Context, q storage.SessionQuery) ([]*storage.SessionListing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	newestFirst := func(a, b *storage.Session) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	}
	after := &storage.Session{CreatedAt: ts(q.After.CreatedAt), ID: q.After.ID}
	before := &storage.Session{CreatedAt: ts(q.Before.CreatedAt), ID: q.Before.ID}
	var sel []*storage.Session
	for _, ss := range s.sessions {
		inRange := q.After.IsZero() || newestFirst(after, ss) < 0
		if !q.Before.IsZero() {
			inRange = newestFirst(ss, before) < 0
		}
		if ss.RevokedAt.IsZero() && (q.UserID == "" || ss.UserID == q.UserID) && inRange {
			sel = append(sel, ss)
		}
	}
	slices.SortFunc(sel, newestFirst)
	if !q.Before.IsZero() {
		sel = sel[max(len(sel)-max(q.Limit, 0), 0):]
	} else {
		sel = page(sel, q.Limit)
	}
	out := make([]*storage.SessionListing, len(sel))
	for i, ss := range sel {
		l := &storage.SessionListing{Session: *cloneSession(ss)}
		l.Session.TokenHash, l.Session.RevokedAt = "", ss.RevokedAt
		if u, ok := s.users[ss.UserID]; ok {
			l.Username = u.Username
		}
		if set := s.sessionClient[ss.ID]; len(set) > 0 {
			l.ClientIDs = slices.Sorted(maps.Keys(set))
		}
		out[i] = l
	}
	return out, nil
}

// ListClientsPage implements storage.Lists.
func (s *Store) ListClientsPage(_ context.Context, after string, limit int) ([]*storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.Client
	for _, id := range slices.Sorted(maps.Keys(s.clients)) {
		if id > after && len(out) < limit {
			out = append(out, cloneClient(s.clients[id]))
		}
	}
	return out, nil
}

// CountRows implements storage.Lists: the memory store always counts.
func (s *Store) CountRows(context.Context) (storage.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := storage.Counts{Users: int64(len(s.users)), Groups: int64(len(s.groups)), Clients: int64(len(s.clients))}
	for _, ss := range s.sessions {
		if ss.RevokedAt.IsZero() {
			c.Sessions++
		}
	}
	return c, nil
}
