package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testListUsersPage: keyset pages in username order, and the prefix
// search over username, e-mail and name, ignoring case.
func testListUsersPage(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i, name := range []string{"carol", "alice", "bob", "dave", "erin"} {
		u := newUser(fmt.Sprintf("user-%d", i), name)
		if name == "dave" {
			u.Email, u.Name = "boss@example.test", "Dave Smith"
		}
		mustOK(t, s.CreateUser(ctx, u), "CreateUser(%s)", name)
	}
	names := func(us []*storage.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	tests := []struct {
		name string
		q    storage.UserQuery
		want []string
	}{
		{"first page", storage.UserQuery{Limit: 2}, []string{"alice", "bob"}},
		{"next page", storage.UserQuery{After: "bob", Limit: 2}, []string{"carol", "dave"}},
		{"last page", storage.UserQuery{After: "dave", Limit: 2}, []string{"erin"}},
		{"past the end", storage.UserQuery{After: "erin", Limit: 2}, nil},
		{"username prefix", storage.UserQuery{Search: "CA", Limit: 10}, []string{"carol"}},
		{"e-mail prefix", storage.UserQuery{Search: "boss@", Limit: 10}, []string{"dave"}},
		{"e-mail or username prefix", storage.UserQuery{Search: "b", Limit: 10}, []string{"bob", "dave"}},
		{"name prefix", storage.UserQuery{Search: "dave s", Limit: 10}, []string{"dave"}},
		{"search with a cursor", storage.UserQuery{Search: "b", After: "bob", Limit: 10}, []string{"dave"}},
		{"no match", storage.UserQuery{Search: "zz", Limit: 10}, nil},
		{"previous page", storage.UserQuery{Before: "dave", Limit: 2}, []string{"bob", "carol"}},
		{"previous page at the start", storage.UserQuery{Before: "bob", Limit: 2}, []string{"alice"}},
		{"previous page of a search", storage.UserQuery{Search: "b", Before: "dave", Limit: 10}, []string{"bob"}},
		{"like wildcards are literal", storage.UserQuery{Search: "%", Limit: 10}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListUsersPage(ctx, tc.q)
			mustOK(t, err, "ListUsersPage")
			assertStrings(t, "usernames", tc.want, names(got))
		})
	}
	got, _ := s.ListUsersPage(ctx, storage.UserQuery{Search: "alice", Limit: 1})
	want := newUser("user-1", "alice")
	assertEqual(t, "a listed user", want, got[0])
}

// testListGroupsAndClients: keyset pages of groups (with member counts)
// and of clients.
func testListGroupsAndClients(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-a", "alice")), "CreateUser")
	for _, n := range []string{"ops", "admins", "staff"} {
		mustOK(t, s.CreateGroup(ctx, newGroup("g-"+n, n)), "CreateGroup(%s)", n)
		mustOK(t, s.CreateClient(ctx, newClient("client-"+n)), "CreateClient(%s)", n)
	}
	mustOK(t, s.AddGroupMember(ctx, "g-ops", "user-a"), "AddGroupMember")
	groups, err := s.ListGroups(ctx, "", 2)
	mustOK(t, err, "ListGroups")
	if len(groups) != 2 || groups[0].Name != "admins" || groups[1].Name != "ops" || groups[1].Members != 1 || groups[0].Members != 0 {
		t.Errorf("first page of groups: %+v", groups)
	}
	groups, err = s.ListGroups(ctx, "ops", 2)
	mustOK(t, err, "ListGroups(after ops)")
	if len(groups) != 1 || groups[0].Name != "staff" {
		t.Errorf("second page of groups: %+v", groups)
	}
	clients, err := s.ListClientsPage(ctx, "client-admins", 5)
	mustOK(t, err, "ListClientsPage")
	if len(clients) != 2 || clients[0].ID != "client-ops" || clients[1].ID != "client-staff" {
		t.Errorf("clients after client-admins: %v", clients)
	}
	assertEqual(t, "a listed client", newClient("client-ops"), clients[0])
}

// testListSessionsPage: live sessions newest first, by user, with the
// username and the clients served; revoked ones are left out.
func testListSessionsPage(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s) // session-1 of alice, created at(-time.Hour)
	var ids []string
	for i := range 3 {
		ss := newSession(fmt.Sprintf("sess-%d", i), sd.user2.ID, at(time.Duration(i)*time.Minute))
		mustOK(t, s.CreateSession(ctx, ss), "CreateSession")
		ids = append(ids, ss.ID)
	}
	tie := newSession("sess-tie", sd.user2.ID, at(time.Minute)) // same instant as sess-1
	mustOK(t, s.CreateSession(ctx, tie), "CreateSession(tie)")
	revoked := newSession("sess-revoked", sd.user2.ID, at(time.Hour))
	mustOK(t, s.CreateSession(ctx, revoked), "CreateSession(revoked)")
	mustOK(t, s.RevokeSession(ctx, revoked.ID, at(time.Hour)), "RevokeSession")
	mustOK(t, s.AddSessionClient(ctx, "sess-2", sd.client2.ID), "AddSessionClient")
	mustOK(t, s.AddSessionClient(ctx, "sess-2", sd.client.ID), "AddSessionClient")

	var all []string
	q := storage.SessionQuery{Limit: 2}
	for {
		page, err := s.ListSessionsPage(ctx, q)
		mustOK(t, err, "ListSessionsPage")
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			all = append(all, l.Session.ID)
			if l.Session.TokenHash != "" {
				t.Errorf("listed session %s carries its token hash", l.Session.ID)
			}
		}
		last := page[len(page)-1].Session
		q.After = storage.SessionCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	want := []string{"sess-2", "sess-tie", "sess-1", "sess-0", sd.session.ID}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Errorf("sessions page by page: %v, want %v", all, want)
	}
	page, err := s.ListSessionsPage(ctx, storage.SessionQuery{UserID: sd.user2.ID, Limit: 1})
	mustOK(t, err, "ListSessionsPage(bob)")
	if len(page) != 1 || page[0].Session.ID != "sess-2" || page[0].Username != "bob" {
		t.Fatalf("bob's newest session: %+v", page)
	}
	assertStrings(t, "clients served", []string{sd.client.ID, sd.client2.ID}, page[0].ClientIDs)
	_ = ids
	back, err := s.ListSessionsPage(ctx, storage.SessionQuery{Before: storage.SessionCursor{CreatedAt: at(0), ID: "sess-0"}, Limit: 2})
	mustOK(t, err, "ListSessionsPage(before sess-0)")
	var got []string
	for _, l := range back {
		got = append(got, l.Session.ID)
	}
	assertStrings(t, "the page before sess-0", []string{"sess-tie", "sess-1"}, got)
}

// testCountRows: small tables are counted exactly.
func testCountRows(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateGroup(ctx, newGroup("g", "staff")), "CreateGroup")
	ss := newSession("sess-x", sd.user.ID, at(0))
	mustOK(t, s.CreateSession(ctx, ss), "CreateSession")
	mustOK(t, s.RevokeSession(ctx, ss.ID, at(0)), "RevokeSession")
	c, err := s.CountRows(ctx)
	mustOK(t, err, "CountRows")
	want := storage.Counts{Users: 2, Groups: 1, Clients: 2, Sessions: 1}
	if c != want {
		t.Errorf("CountRows = %+v, want %+v", c, want)
	}
}
