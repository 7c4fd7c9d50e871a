package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func testUserCRUD(t *testing.T, s storage.Store) {
	ctx := t.Context()

	users, err := s.ListUsers(ctx)
	mustOK(t, err, "ListUsers on an empty store")
	if len(users) != 0 {
		t.Fatalf("ListUsers on an empty store returned %d users", len(users))
	}

	alice := newUser("user-a", "alice")
	mustOK(t, s.CreateUser(ctx, alice), "CreateUser(alice)")
	want := *alice
	scribble(alice) // the store must not keep the caller's value

	got, err := s.GetUser(ctx, "user-a")
	mustOK(t, err, "GetUser")
	assertEqual(t, "GetUser", &want, got)

	scribble(got)
	got, err = s.GetUserByUsername(ctx, "alice")
	mustOK(t, err, "GetUserByUsername")
	assertEqual(t, "GetUserByUsername after mutating an earlier result", &want, got)

	t.Run("Duplicates", func(t *testing.T) {
		tests := []struct {
			name    string
			user    *storage.User
			wantErr error
		}{
			{"same ID", newUser("user-a", "someone-else"), storage.ErrAlreadyExists},
			{"same username", newUser("user-other", "alice"), storage.ErrAlreadyExists},
			{"username differing in case is distinct", newUser("user-upper", "Alice"), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateUser(ctx, tc.user)
				if tc.wantErr == nil {
					mustOK(t, err, "CreateUser")
					return
				}
				wantErr(t, err, tc.wantErr, "CreateUser")
			})
		}
		got, err := s.GetUserByUsername(ctx, "alice")
		mustOK(t, err, "GetUserByUsername")
		assertEqual(t, "alice after failed duplicate inserts", &want, got)
	})

	t.Run("Missing", func(t *testing.T) {
		_, err := s.GetUser(ctx, "no-such-user")
		wantErr(t, err, storage.ErrNotFound, "GetUser(no-such-user)")
		for _, name := range []string{"nobody", "ALICE", "alice ", ""} {
			_, err := s.GetUserByUsername(ctx, name)
			wantErr(t, err, storage.ErrNotFound, "GetUserByUsername(%q)", name)
		}
		_, err = s.UpdateUser(ctx, "no-such-user", func(u *storage.User) error { u.Username = "ghost"; return nil })
		wantErr(t, err, storage.ErrNotFound, "UpdateUser(no-such-user)")
		err = s.SetPasswordHash(ctx, "no-such-user", "", "x")
		wantErr(t, err, storage.ErrNotFound, "SetPasswordHash(no-such-user)")
		_, err = s.GetUserByUsername(ctx, "ghost")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername after a failed update")
	})

	t.Run("ListOrderedByUsername", func(t *testing.T) {
		// IDs sort in the opposite order of usernames.
		for _, u := range []*storage.User{
			newUser("user-3", "bob"),
			newUser("user-9", "aaron"),
			newUser("user-1", "carol"),
		} {
			mustOK(t, s.CreateUser(ctx, u), "CreateUser(%s)", u.Username)
		}
		users, err := s.ListUsers(ctx)
		mustOK(t, err, "ListUsers")
		var names []string
		for _, u := range users {
			names = append(names, u.Username)
		}
		// "Alice" (from Duplicates) sorts before lower case in byte order but
		// not in every collation, so only the lower-case names are compared.
		var lower []string
		for _, n := range names {
			if n != "Alice" {
				lower = append(lower, n)
			}
		}
		assertStrings(t, "ListUsers usernames", []string{"aaron", "alice", "bob", "carol"}, lower)
		for _, u := range users {
			if u.Username == "alice" {
				assertEqual(t, "alice in ListUsers", &want, u)
			}
		}
		scribble(users)
		got, err := s.GetUser(ctx, "user-a")
		mustOK(t, err, "GetUser")
		assertEqual(t, "alice after mutating a ListUsers result", &want, got)
	})

	t.Run("Update", func(t *testing.T) {
		updated := &storage.User{
			ID:            "user-a",
			Username:      "alice2",
			Email:         "new@example.test",
			EmailVerified: false,
			Name:          "Alice Two",
			GivenName:     "Alice",
			FamilyName:    "Two",
			PasswordHash:  "",
			Disabled:      true,
			Admin:         false,
			CreatedAt:     want.CreatedAt,
			UpdatedAt:     at(time.Hour),
		}
		// The updater gets the stored user; ID and CreatedAt stay.
		stored, err := s.UpdateUser(ctx, "user-a", func(u *storage.User) error {
			assertEqual(t, "user given to the updater", &want, u)
			*u = *updated
			u.ID, u.CreatedAt = "user-other", at(time.Minute)
			return nil
		})
		mustOK(t, err, "UpdateUser")
		wantUpdated := *updated
		scribble(updated)
		assertEqual(t, "UpdateUser result", &wantUpdated, stored)
		scribble(stored)

		got, err := s.GetUser(ctx, "user-a")
		mustOK(t, err, "GetUser after update")
		assertEqual(t, "updated user", &wantUpdated, got)
		got, err = s.GetUserByUsername(ctx, "alice2")
		mustOK(t, err, "GetUserByUsername(new name)")
		assertEqual(t, "updated user by new username", &wantUpdated, got)
		_, err = s.GetUserByUsername(ctx, "alice")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername(old name)")
		_, err = s.GetUser(ctx, "user-other")
		wantErr(t, err, storage.ErrNotFound, "GetUser of the ID the updater tried to set")

		// The old username is free again.
		mustOK(t, s.CreateUser(ctx, newUser("user-new-alice", "alice")), "CreateUser with a released username")

		// Keeping one's own username is not a conflict.
		wantUpdated.Name = "Alice Three"
		_, err = s.UpdateUser(ctx, "user-a", func(u *storage.User) error { u.Name = "Alice Three"; return nil })
		mustOK(t, err, "UpdateUser keeping the username")

		// Taking another user's username is.
		mustOK(t, s.CreateUser(ctx, newUser("user-dave", "dave")), "CreateUser(dave)")
		_, err = s.UpdateUser(ctx, "user-a", func(u *storage.User) error {
			u.Username, u.Name = "dave", "should not be stored"
			return nil
		})
		wantErr(t, err, storage.ErrAlreadyExists, "UpdateUser to a taken username")
		// An updater's error is returned unchanged and nothing is written.
		errNo := errors.New("updater says no")
		_, err = s.UpdateUser(ctx, "user-a", func(u *storage.User) error { u.Name = "should not be stored"; return errNo })
		if err != errNo {
			t.Errorf("UpdateUser with a failing updater = %v, want its error unchanged", err)
		}
		got, err = s.GetUser(ctx, "user-a")
		mustOK(t, err, "GetUser after failed update")
		assertEqual(t, "user after a failed update", &wantUpdated, got)
		dave, err := s.GetUserByUsername(ctx, "dave")
		mustOK(t, err, "GetUserByUsername(dave)")
		if dave.ID != "user-dave" {
			t.Errorf("username dave belongs to %q after a failed update, want user-dave", dave.ID)
		}
	})
}
