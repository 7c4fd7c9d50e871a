package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func newGroup(id, name string) *storage.Group {
	return &storage.Group{ID: id, Name: name, CreatedAt: at(-10 * time.Hour), UpdatedAt: at(-5 * time.Hour)}
}

// testGroups: groups are unique by ID and name; memberships are
// idempotent, show on every read of the user (sorted), move the member's
// liveness version, and go with the group or the user; renaming renames the client
// rules that name the group; a group a rule names cannot be deleted.
func testGroups(t *testing.T, s storage.Store) {
	ctx := t.Context()
	alice, bob := newUser("user-a", "alice"), newUser("user-b", "bob")
	mustOK(t, s.CreateUser(ctx, alice), "CreateUser(alice)")
	mustOK(t, s.CreateUser(ctx, bob), "CreateUser(bob)")
	staff, ops := newGroup("group-s", "staff"), newGroup("group-o", "ops")
	mustOK(t, s.CreateGroup(ctx, staff), "CreateGroup(staff)")
	mustOK(t, s.CreateGroup(ctx, ops), "CreateGroup(ops)")
	wantErr(t, s.CreateGroup(ctx, newGroup("group-s", "other")), storage.ErrAlreadyExists, "CreateGroup with a taken ID")
	wantErr(t, s.CreateGroup(ctx, newGroup("group-x", "staff")), storage.ErrAlreadyExists, "CreateGroup with a taken name")

	got, err := s.GetGroupByName(ctx, "staff")
	mustOK(t, err, "GetGroupByName")
	assertEqual(t, "GetGroupByName", staff, got)
	_, err = s.GetGroup(ctx, "no-such-group")
	wantErr(t, err, storage.ErrNotFound, "GetGroup(missing)")

	version := func() int64 {
		v, _, err := s.LivenessVersion(ctx, "", "user-a")
		mustOK(t, err, "LivenessVersion")
		return v
	}
	v0 := version()
	for _, g := range []string{"group-s", "group-o", "group-s"} { // the second staff is a no-op
		mustOK(t, s.AddGroupMember(ctx, g, "user-a"), "AddGroupMember(%s, alice)", g)
	}
	if v := version(); v <= v0 {
		t.Errorf("liveness version %d after memberships changed, was %d", v, v0)
	}
	wantErr(t, s.AddGroupMember(ctx, "no-such-group", "user-a"), storage.ErrNotFound, "AddGroupMember(missing group)")
	wantErr(t, s.AddGroupMember(ctx, "group-s", "no-such-user"), storage.ErrNotFound, "AddGroupMember(missing user)")

	u, err := s.GetUser(ctx, "user-a")
	mustOK(t, err, "GetUser")
	assertStrings(t, "alice's groups", []string{"ops", "staff"}, u.Groups)
	st, err := s.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{UserID: "user-a"})
	mustOK(t, err, "GetAccessTokenStatus")
	assertStrings(t, "alice's groups in the token status", []string{"ops", "staff"}, st.User.Groups)
	if st.User.PasswordHash != "" || st.User.Admin {
		t.Errorf("token status user carries the password hash or the admin flag: %+v", st.User)
	}
	assertEqual(t, "token status user's claims", alice.Attributes, st.User.Attributes)
	// Groups are ignored on writes.
	_, err = s.UpdateUser(ctx, "user-a", func(u *storage.User) error { u.Groups = []string{"forged"}; return nil })
	mustOK(t, err, "UpdateUser")
	u, _ = s.GetUser(ctx, "user-a")
	assertStrings(t, "groups after UpdateUser set them", []string{"ops", "staff"}, u.Groups)

	members, err := s.ListGroupMembers(ctx, "group-s", "", 10)
	mustOK(t, err, "ListGroupMembers")
	if len(members) != 1 || members[0].ID != "user-a" {
		t.Errorf("members of staff: %v", members)
	}

	// A rule names staff: rename follows, delete is refused.
	c := newClient("app")
	c.AllowedGroups = []string{"staff", "others"}
	mustOK(t, s.CreateClient(ctx, c), "CreateClient")
	_, err = s.RenameGroup(ctx, "group-s", "ops", at(0))
	wantErr(t, err, storage.ErrAlreadyExists, "RenameGroup to a taken name")
	g, err := s.RenameGroup(ctx, "group-s", "employees", at(0))
	mustOK(t, err, "RenameGroup")
	if g.Name != "employees" || !g.UpdatedAt.Equal(at(0)) {
		t.Errorf("renamed group: %+v", g)
	}
	cl, _ := s.GetClient(ctx, "app")
	assertStrings(t, "client rule after the rename", []string{"employees", "others"}, cl.AllowedGroups)
	u, _ = s.GetUser(ctx, "user-a")
	assertStrings(t, "alice's groups after the rename", []string{"employees", "ops"}, u.Groups)
	wantErr(t, s.DeleteGroup(ctx, "group-s"), storage.ErrConflict, "DeleteGroup named by a rule")
	if _, err := s.GetGroup(ctx, "group-s"); err != nil {
		t.Errorf("a refused DeleteGroup removed the group: %v", err)
	}

	wantErr(t, s.RemoveGroupMember(ctx, "group-o", "user-b"), storage.ErrNotFound, "RemoveGroupMember(not a member)")
	mustOK(t, s.RemoveGroupMember(ctx, "group-o", "user-a"), "RemoveGroupMember")
	mustOK(t, s.AddGroupMember(ctx, "group-o", "user-b"), "AddGroupMember(ops, bob)")
	mustOK(t, s.DeleteGroup(ctx, "group-o"), "DeleteGroup")
	wantErr(t, s.DeleteGroup(ctx, "group-o"), storage.ErrNotFound, "DeleteGroup again")
	u, _ = s.GetUser(ctx, "user-b")
	if len(u.Groups) != 0 {
		t.Errorf("bob's groups after his group was deleted: %v", u.Groups)
	}
	// The name is free again; the old members are not members of the new group.
	mustOK(t, s.CreateGroup(ctx, newGroup("group-o2", "ops")), "CreateGroup(ops again)")
	members, _ = s.ListGroupMembers(ctx, "group-o2", "", 10)
	if len(members) != 0 {
		t.Errorf("a new group inherited members: %v", members)
	}
}

// testDeleteUser: the user's sessions, consents, refresh tokens and
// memberships go with them; deleting again is ErrNotFound.
func testDeleteUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateGroup(ctx, newGroup("group-s", "staff")), "CreateGroup")
	mustOK(t, s.AddGroupMember(ctx, "group-s", sd.user.ID), "AddGroupMember")
	mustOK(t, s.SaveConsent(ctx, &storage.Consent{UserID: sd.user.ID, ClientID: sd.client.ID, Scopes: []string{"openid"}, GrantedAt: at(0)}), "SaveConsent")
	rt := newRefreshToken("rt-1", "fam-1", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
	mustOK(t, s.DeleteUser(ctx, sd.user.ID), "DeleteUser")
	wantErr(t, s.DeleteUser(ctx, sd.user.ID), storage.ErrNotFound, "DeleteUser again")
	_, err := s.GetUser(ctx, sd.user.ID)
	wantErr(t, err, storage.ErrNotFound, "GetUser after DeleteUser")
	_, err = s.GetSession(ctx, sd.session.ID)
	wantErr(t, err, storage.ErrNotFound, "GetSession after DeleteUser")
	_, err = s.GetRefreshToken(ctx, rt.TokenHash)
	wantErr(t, err, storage.ErrNotFound, "GetRefreshToken after DeleteUser")
	_, err = s.GetConsent(ctx, sd.user.ID, sd.client.ID)
	wantErr(t, err, storage.ErrNotFound, "GetConsent after DeleteUser")
	members, err := s.ListGroupMembers(ctx, "group-s", "", 10)
	mustOK(t, err, "ListGroupMembers")
	if len(members) != 0 {
		t.Errorf("members after DeleteUser: %v", members)
	}
	st, err := s.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{UserID: sd.user.ID})
	mustOK(t, err, "GetAccessTokenStatus")
	if st.User != nil {
		t.Errorf("token status of a deleted user has a user: %+v", st.User)
	}
	n, err := s.CountEnabledAdmins(ctx)
	mustOK(t, err, "CountEnabledAdmins")
	if n != 1 { // bob; alice is gone
		t.Errorf("CountEnabledAdmins = %d, want 1", n)
	}
	_, err = s.UpdateUser(ctx, sd.user2.ID, func(u *storage.User) error { u.Disabled = true; return nil })
	mustOK(t, err, "UpdateUser(disable bob)")
	if n, _ := s.CountEnabledAdmins(ctx); n != 0 {
		t.Errorf("CountEnabledAdmins with only a disabled admin = %d, want 0", n)
	}
	// The username is free again.
	mustOK(t, s.CreateUser(ctx, newUser("user-new", sd.user.Username)), "CreateUser with the deleted username")
}
