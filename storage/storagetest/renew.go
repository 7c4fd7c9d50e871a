package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testRenewSession: a re-authentication replaces the cookie hash and the
// authentication facts but keeps the session ID and its clients; a revoked
// session cannot be renewed; a taken hash is refused without change.
func testRenewSession(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, newUser("user-1", "alice")), "CreateUser")
	mustOK(t, s.CreateSession(ctx, newSession("sess-1", "user-1", at(-time.Hour))), "CreateSession")
	mustOK(t, s.CreateSession(ctx, newSession("sess-2", "user-1", at(-time.Hour))), "CreateSession")
	mustOK(t, s.AddSessionClient(ctx, "sess-1", "client-a"), "AddSessionClient")
	oldHash := storage.HashToken("session-sess-1")
	newHash := storage.HashToken("renewed")

	amr := []string{"pwd"}
	mustOK(t, s.RenewSession(ctx, "sess-1", newHash, at(0), amr), "RenewSession")
	amr[0] = "scribbled" // the store must not keep the caller's slice
	got, err := s.GetSessionByTokenHash(ctx, newHash)
	mustOK(t, err, "GetSessionByTokenHash(new)")
	want := newSession("sess-1", "user-1", at(-time.Hour))
	want.TokenHash, want.AuthTime, want.LastSeenAt, want.AMR = newHash, at(0), at(0), []string{"pwd"}
	assertEqual(t, "renewed session", want, got)
	_, err = s.GetSessionByTokenHash(ctx, oldHash)
	wantErr(t, err, storage.ErrNotFound, "the old cookie hash after renewal")
	clients, err := s.ListSessionClients(ctx, "sess-1")
	mustOK(t, err, "ListSessionClients")
	assertEqual(t, "clients kept", []string{"client-a"}, clients)

	for _, tc := range []struct {
		name, id, hash string
		target         error
	}{
		{"unknown", "nope", storage.HashToken("x"), storage.ErrNotFound},
		{"hash-taken", "sess-1", storage.HashToken("session-sess-2"), storage.ErrAlreadyExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.RenewSession(ctx, tc.id, tc.hash, at(time.Minute), nil), tc.target, "RenewSession")
		})
	}
	t.Run("revoked", func(t *testing.T) {
		mustOK(t, s.RevokeSession(ctx, "sess-2", at(0)), "RevokeSession")
		wantErr(t, s.RenewSession(ctx, "sess-2", storage.HashToken("y"), at(time.Minute), nil), storage.ErrNotFound, "RenewSession")
	})
}
