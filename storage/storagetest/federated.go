package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// federatedTests are the conformance cases of linked upstream identities
// (issue 18).
var federatedTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}{
	{"FederatedIdentities", testFederatedIdentities},
	{"FederatedIdentitiesGoWithUser", testFederatedGoWithUser},
	{"ListUsersByEmail", testListUsersByEmail},
}

func newFederated(connector, subject, userID string) *storage.FederatedIdentity {
	return &storage.FederatedIdentity{ConnectorID: connector, Subject: subject, UserID: userID,
		Email: subject + "@upstream.test", CreatedAt: at(0), LastUsedAt: at(0)}
}

// testFederatedIdentities: link, a second link of the same upstream
// identity refused, several links per user listed in order, use records
// e-mail, groups and time, delete; a returned link is a copy.
func testFederatedIdentities(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.CreateUser(ctx, newUser("u2", "bob")), "create user 2")
	wantErr(t, s.CreateFederatedIdentity(ctx, newFederated("google", "s0", "nobody")), storage.ErrNotFound, "link to a missing user")
	mustOK(t, s.CreateFederatedIdentity(ctx, newFederated("google", "s1", "u1")), "link google")
	mustOK(t, s.CreateFederatedIdentity(ctx, newFederated("github", "42", "u1")), "link github")
	mustOK(t, s.CreateFederatedIdentity(ctx, newFederated("github", "43", "u2")), "link github for bob")
	wantErr(t, s.CreateFederatedIdentity(ctx, newFederated("google", "s1", "u2")), storage.ErrAlreadyExists, "same identity for another user")

	list, err := s.ListUserFederatedIdentities(ctx, "u1")
	mustOK(t, err, "list")
	assertEqual(t, "alice's links", []*storage.FederatedIdentity{newFederated("github", "42", "u1"),
		newFederated("google", "s1", "u1")}, list)
	none, err := s.ListUserFederatedIdentities(ctx, "nobody")
	mustOK(t, err, "list for nobody")
	assertEqual(t, "nobody's links", 0, len(none))

	mustOK(t, s.UseFederatedIdentity(ctx, "google", "s1", "new@upstream.test", []string{"eng", "ops"}, at(time.Hour)), "use")
	got, err := s.GetFederatedIdentity(ctx, "google", "s1")
	mustOK(t, err, "get")
	want := newFederated("google", "s1", "u1")
	want.Email, want.Groups, want.LastUsedAt = "new@upstream.test", []string{"eng", "ops"}, at(time.Hour)
	assertEqual(t, "used link", want, got)
	got.Groups[0] = "scribbled"
	again, err := s.GetFederatedIdentity(ctx, "google", "s1")
	mustOK(t, err, "get again")
	assertEqual(t, "link after scribble", want, again)
	mustOK(t, s.UseFederatedIdentity(ctx, "google", "s1", "new@upstream.test", nil, at(2*time.Hour)), "use without groups")
	again, err = s.GetFederatedIdentity(ctx, "google", "s1")
	mustOK(t, err, "get after use without groups")
	assertEqual(t, "groups cleared", []string(nil), again.Groups)
	wantErr(t, s.UseFederatedIdentity(ctx, "google", "zz", "", nil, at(0)), storage.ErrNotFound, "use unknown")

	_, err = s.GetFederatedIdentity(ctx, "google", "zz")
	wantErr(t, err, storage.ErrNotFound, "get unknown")
	mustOK(t, s.DeleteFederatedIdentity(ctx, "google", "s1"), "delete")
	wantErr(t, s.DeleteFederatedIdentity(ctx, "google", "s1"), storage.ErrNotFound, "delete again")
	_, err = s.GetFederatedIdentity(ctx, "google", "s1")
	wantErr(t, err, storage.ErrNotFound, "get deleted")
	_, err = s.GetUser(ctx, "u1")
	mustOK(t, err, "the user stays")
}

// testFederatedGoWithUser: deleting a user deletes their links.
func testFederatedGoWithUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.CreateFederatedIdentity(ctx, newFederated("google", "s1", "u1")), "link")
	mustOK(t, s.DeleteUser(ctx, "u1"), "delete user")
	_, err := s.GetFederatedIdentity(ctx, "google", "s1")
	wantErr(t, err, storage.ErrNotFound, "link of a deleted user")
	mustOK(t, s.CreateUser(ctx, newUser("u2", "bob")), "create user 2")
	mustOK(t, s.CreateFederatedIdentity(ctx, newFederated("google", "s1", "u2")), "the identity can be linked again")
}

// testListUsersByEmail: case-insensitive, ordered by username, empty
// address matches nobody.
func testListUsersByEmail(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a, b, c := newUser("u1", "carol"), newUser("u2", "alice"), newUser("u3", "bob")
	a.Email, b.Email, c.Email = "Shared@Example.test", "shared@example.test", ""
	for _, u := range []*storage.User{a, b, c} {
		mustOK(t, s.CreateUser(ctx, u), "create %s", u.Username)
	}
	got, err := s.ListUsersByEmail(ctx, "SHARED@example.TEST")
	mustOK(t, err, "list")
	names := make([]string, 0, len(got))
	for _, u := range got {
		names = append(names, u.Username)
	}
	assertEqual(t, "users with the address", []string{"alice", "carol"}, names)
	none, err := s.ListUsersByEmail(ctx, "")
	mustOK(t, err, "list empty address")
	assertEqual(t, "users with no address", 0, len(none))
	none, err = s.ListUsersByEmail(ctx, "other@example.test")
	mustOK(t, err, "list unknown")
	assertEqual(t, "users with another address", 0, len(none))
}
