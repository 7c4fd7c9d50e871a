package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func newCredential(id, userID string, created time.Duration) *storage.WebAuthnCredential {
	return &storage.WebAuthnCredential{ID: []byte(id), UserID: userID, PublicKey: []byte("cose-" + id),
		SignCount: 0, BackupEligible: true, Transports: []string{"internal", "hybrid"},
		AAGUID: make([]byte, 16), Name: "key " + id, CreatedAt: at(created)}
}

// testWebAuthnCredentials: add, list (oldest first, per user), get by ID,
// a duplicate ID refused, rename and delete only the owner's, and a
// returned record is a copy.
func testWebAuthnCredentials(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.CreateUser(ctx, newUser("u2", "bob")), "create user 2")
	wantErr(t, s.AddWebAuthnCredential(ctx, newCredential("c0", "nobody", 0)), storage.ErrNotFound, "add for a missing user")
	mustOK(t, s.AddWebAuthnCredential(ctx, newCredential("c2", "u1", time.Minute)), "add c2")
	mustOK(t, s.AddWebAuthnCredential(ctx, newCredential("c1", "u1", 0)), "add c1")
	plain := newCredential("c3", "u2", 0)
	plain.Transports, plain.BackupEligible = nil, false
	mustOK(t, s.AddWebAuthnCredential(ctx, plain), "add c3")
	wantErr(t, s.AddWebAuthnCredential(ctx, newCredential("c1", "u2", 0)), storage.ErrAlreadyExists, "same ID for another user")

	list, err := s.ListWebAuthnCredentials(ctx, "u1")
	mustOK(t, err, "list")
	assertEqual(t, "u1's credentials", []*storage.WebAuthnCredential{newCredential("c1", "u1", 0),
		newCredential("c2", "u1", time.Minute)}, list)
	none, err := s.ListWebAuthnCredentials(ctx, "nobody")
	mustOK(t, err, "list for nobody")
	assertEqual(t, "nobody's credentials", 0, len(none))
	got, err := s.GetWebAuthnCredential(ctx, []byte("c3"))
	mustOK(t, err, "get c3")
	assertEqual(t, "c3", plain, got)
	_, err = s.GetWebAuthnCredential(ctx, []byte("zz"))
	wantErr(t, err, storage.ErrNotFound, "get unknown")

	got.PublicKey[0], got.Transports = 'X', []string{"usb"}
	again, err := s.GetWebAuthnCredential(ctx, []byte("c3"))
	mustOK(t, err, "get again")
	assertEqual(t, "c3 after scribble", plain, again)

	wantErr(t, s.RenameWebAuthnCredential(ctx, "u2", []byte("c1"), "mine now"), storage.ErrNotFound, "rename another's")
	mustOK(t, s.RenameWebAuthnCredential(ctx, "u1", []byte("c1"), "laptop"), "rename")
	got, err = s.GetWebAuthnCredential(ctx, []byte("c1"))
	mustOK(t, err, "get renamed")
	assertEqual(t, "new name", "laptop", got.Name)

	wantErr(t, s.DeleteWebAuthnCredential(ctx, "u2", []byte("c1")), storage.ErrNotFound, "delete another's")
	mustOK(t, s.DeleteWebAuthnCredential(ctx, "u1", []byte("c1")), "delete")
	wantErr(t, s.DeleteWebAuthnCredential(ctx, "u1", []byte("c1")), storage.ErrNotFound, "delete again")
	_, err = s.GetWebAuthnCredential(ctx, []byte("c1"))
	wantErr(t, err, storage.ErrNotFound, "get deleted")
}

// testWebAuthnSignCount: counters that stay zero (synced passkeys) pass,
// a growing counter passes, a counter that does not grow is refused as a
// possible clone (WebAuthn §7.2 step 22) and changes nothing.
func testWebAuthnSignCount(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.AddWebAuthnCredential(ctx, newCredential("c1", "u1", 0)), "add")
	wantErr(t, s.UseWebAuthnCredential(ctx, []byte("zz"), 1, false, at(time.Minute)), storage.ErrNotFound, "use unknown")
	tests := []struct {
		name  string
		count uint32
		want  error
	}{
		{"zero stays zero", 0, nil},
		{"zero again", 0, nil},
		{"first count", 5, nil},
		{"same count", 5, storage.ErrConflict},
		{"count goes back", 3, storage.ErrConflict},
		{"count back to zero", 0, storage.ErrConflict},
		{"count grows", 6, nil},
	}
	for i, tc := range tests {
		err := s.UseWebAuthnCredential(ctx, []byte("c1"), tc.count, i%2 == 0, at(time.Duration(i+1)*time.Minute))
		if tc.want == nil {
			mustOK(t, err, "%s", tc.name)
		} else {
			wantErr(t, err, tc.want, "%s", tc.name)
		}
	}
	got, err := s.GetWebAuthnCredential(ctx, []byte("c1"))
	mustOK(t, err, "get")
	want := newCredential("c1", "u1", 0)
	want.SignCount, want.BackupState, want.LastUsedAt = 6, true, at(7*time.Minute)
	assertEqual(t, "after uses", want, got)
}

// testWebAuthnGoesWithUser: a factor reset and deleting the user remove
// the credentials.
func testWebAuthnGoesWithUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.CreateUser(ctx, newUser("u2", "bob")), "create user 2")
	mustOK(t, s.AddWebAuthnCredential(ctx, newCredential("c1", "u1", 0)), "add c1")
	mustOK(t, s.AddWebAuthnCredential(ctx, newCredential("c2", "u2", 0)), "add c2")
	mustOK(t, s.DeleteFactors(ctx, "u1"), "reset factors")
	mustOK(t, s.DeleteUser(ctx, "u2"), "delete user")
	for _, id := range []string{"c1", "c2"} {
		_, err := s.GetWebAuthnCredential(ctx, []byte(id))
		wantErr(t, err, storage.ErrNotFound, "credential %s", id)
	}
}
