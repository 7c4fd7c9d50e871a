package storagetest

import (
	"fmt"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// lostUpdateRounds is how many times each race of the lost-update tests
// is run. Each round releases its writers at the same moment, so the
// rounds cover both orders and, on PostgreSQL, overlapping transactions.
const lostUpdateRounds = 40

// testRehashVersusDisable races the sign-in path's rehash (which read the
// user before its slow password check) against an administrator
// disabling the user: both changes stay, whichever comes first.
func testRehashVersusDisable(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	id := sd.user.ID
	for round := range lostUpdateRounds {
		oldHash, rehashed := fmt.Sprintf("old-%d", round), fmt.Sprintf("rehashed-%d", round)
		_, err := s.UpdateUser(ctx, id, func(u *storage.User) error {
			u.PasswordHash, u.Disabled = oldHash, false
			return nil
		})
		mustOK(t, err, "reset round %d", round)
		read, err := s.GetUser(ctx, id) // what the sign-in read before checking the password
		mustOK(t, err, "GetUser")
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.SetPasswordHash(ctx, id, read.PasswordHash, rehashed)
			}
			_, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.Disabled = true; return nil })
			return err
		})
		if ok, _ := tally(t, fmt.Sprintf("round %d", round), errs); ok != 2 {
			t.Fatalf("round %d: %d of 2 writes succeeded", round, ok)
		}
		u, err := s.GetUser(ctx, id)
		mustOK(t, err, "GetUser after round %d", round)
		if !u.Disabled || u.PasswordHash != rehashed {
			t.Fatalf("round %d: disabled %v, hash %q; want the user disabled (the admin's change) and the hash %q (the rehash)",
				round, u.Disabled, u.PasswordHash, rehashed)
		}
	}
}

// testRehashVersusReset races the sign-in path's rehash against an
// administrator setting a new password: the administrator's password
// always wins, and a rehash that comes second reports ErrConflict.
func testRehashVersusReset(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	id := sd.user.ID
	conflicts := 0
	for round := range lostUpdateRounds {
		oldHash := fmt.Sprintf("old-%d", round)
		rehashed, reset := fmt.Sprintf("rehashed-%d", round), fmt.Sprintf("reset-%d", round)
		_, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.PasswordHash = oldHash; return nil })
		mustOK(t, err, "reset round %d", round)
		read, err := s.GetUser(ctx, id)
		mustOK(t, err, "GetUser")
		errs := race(2, func(i int) error {
			if i == 0 {
				return s.SetPasswordHash(ctx, id, read.PasswordHash, rehashed)
			}
			_, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.PasswordHash = reset; return nil })
			return err
		})
		mustOK(t, errs[1], "admin reset in round %d", round)
		_, counts := tally(t, fmt.Sprintf("rehash in round %d", round), errs[:1], storage.ErrConflict)
		conflicts += counts[storage.ErrConflict]
		u, err := s.GetUser(ctx, id)
		mustOK(t, err, "GetUser after round %d", round)
		if u.PasswordHash != reset {
			t.Fatalf("round %d: hash %q, want the administrator's %q", round, u.PasswordHash, reset)
		}
	}
	// The rehash that comes second always loses; one that comes first
	// is overwritten by the reset. Either way nothing is undone.
	t.Logf("%d of %d rehashes came second and got ErrConflict", conflicts, lostUpdateRounds)
	// A rehash with a hash read before a reset is refused outright.
	wantErr(t, s.SetPasswordHash(ctx, id, "old-0", "late"), storage.ErrConflict, "SetPasswordHash with a stale hash")
}

// testConcurrentUserEdits races an administrator's edit in the console
// against an operator's edit with the CLI, each changing its own fields of
// one user through UpdateUser: every change survives.
func testConcurrentUserEdits(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	id := sd.user.ID
	for round := range lostUpdateRounds {
		name, email := fmt.Sprintf("Name %d", round), fmt.Sprintf("r%d@example.test", round)
		admin := round%2 == 0
		errs := race(3, func(i int) error {
			_, err := s.UpdateUser(ctx, id, func(u *storage.User) error {
				switch i {
				case 0: // the console
					u.Name = name
				case 1: // the CLI
					u.Admin = admin
				case 2: // another console tab
					u.Email = email
				}
				return nil
			})
			return err
		})
		if ok, _ := tally(t, fmt.Sprintf("round %d", round), errs); ok != 3 {
			t.Fatalf("round %d: %d of 3 edits succeeded", round, ok)
		}
		u, err := s.GetUser(ctx, id)
		mustOK(t, err, "GetUser after round %d", round)
		if u.Name != name || u.Admin != admin || u.Email != email {
			t.Fatalf("round %d: name %q, admin %v, email %q; want %q, %v, %q (an edit was undone)",
				round, u.Name, u.Admin, u.Email, name, admin, email)
		}
	}
}

// testConcurrentClientEdits is testConcurrentUserEdits for clients: a
// secret rotation, a rename and disabling race, and all three stay.
func testConcurrentClientEdits(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	id := sd.client.ID
	for round := range lostUpdateRounds {
		name, secret := fmt.Sprintf("Client %d", round), storage.HashToken(fmt.Sprint("secret-", round))
		disabled := round%2 == 0
		errs := race(3, func(i int) error {
			_, err := s.UpdateClient(ctx, id, func(c *storage.Client) error {
				switch i {
				case 0:
					c.Name = name
				case 1:
					c.SecretHash = secret
				case 2:
					c.Disabled = disabled
				}
				return nil
			})
			return err
		})
		if ok, _ := tally(t, fmt.Sprintf("round %d", round), errs); ok != 3 {
			t.Fatalf("round %d: %d of 3 edits succeeded", round, ok)
		}
		c, err := s.GetClient(ctx, id)
		mustOK(t, err, "GetClient after round %d", round)
		if c.Name != name || c.SecretHash != secret || c.Disabled != disabled {
			t.Fatalf("round %d: name %q, secret changed %v, disabled %v; want %q, true, %v (an edit was undone)",
				round, c.Name, c.SecretHash == secret, c.Disabled, name, disabled)
		}
	}
}
