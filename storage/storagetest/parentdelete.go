package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testConcurrentClientDelete: deleting a client or a user while refresh
// tokens and code tombstones are being written for it leaves none of them
// behind. Every write either fails (storage.ErrNotFound: the parent is
// gone; storage.ErrConflict: a deadlock victim) or lands before the
// deletion and is deleted with the parent, so the parent registered again
// under the same ID inherits nothing: no refresh token, and (for a client)
// no tombstone of a code. The writes are those of the hot paths, which
// check their parent without locking its row: a plain refresh token, the
// successor of a rotation, and a sealed code's redemption (its tombstone
// and first refresh token).
func testConcurrentClientDelete(t *testing.T, s storage.Store) {
	testConcurrentParentDelete(t, s, parentDeletion{"client",
		func(s storage.Store, sd seed) error { return s.DeleteClient(t.Context(), sd.client.ID) },
		func(s storage.Store, sd seed) error { return s.CreateClient(t.Context(), newClient(sd.client.ID)) }, true})
}

// testConcurrentUserDelete is testConcurrentClientDelete for a user.
func testConcurrentUserDelete(t *testing.T, s storage.Store) {
	testConcurrentParentDelete(t, s, parentDeletion{"user",
		func(s storage.Store, sd seed) error { return s.DeleteUser(t.Context(), sd.user.ID) },
		func(s storage.Store, sd seed) error { return s.CreateUser(t.Context(), newUser(sd.user.ID, "alice")) }, false})
}

// parentDeletion is the parent testConcurrentParentDelete deletes.
type parentDeletion struct {
	name string
	// remove deletes the parent; revive registers it again.
	remove, revive func(s storage.Store, sd seed) error
	// tombstones: the parent owns the code tombstones.
	tombstones bool
}

func testConcurrentParentDelete(t *testing.T, s storage.Store, tc parentDeletion) {
	const n = 24 // writers; one more goroutine deletes the parent
	t.Run(tc.name, func(t *testing.T) {
		ctx := t.Context()
		sd := seedRows(t, s)
		// Writers of kind 1 rotate a token made beforehand; the other
		// token is the parent-independent control.
		for i := range n {
			if i%3 == 1 {
				rt := newRefreshToken(fmt.Sprintf("rt-old-%d", i), fmt.Sprintf("fam-%d", i), sd.client.ID, sd.user.ID, sd.session.ID)
				mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
			}
		}
		control := newRefreshToken("rt-control", "fam-control", sd.client2.ID, sd.user2.ID, "session-2")
		mustOK(t, s.CreateRefreshToken(ctx, control), "CreateRefreshToken")

		hashes := make([][]string, n+1) // refresh tokens each writer made or tried to
		codes := make([]string, n+1)    // sealed code hash of each redeeming writer
		errs := race(n+1, func(i int) error {
			now := at(time.Minute)
			switch {
			case i == n:
				return tc.remove(s, sd)
			case i%3 == 0:
				rt := newRefreshToken(fmt.Sprintf("rt-new-%d", i), fmt.Sprintf("fam-%d", i), sd.client.ID, sd.user.ID, sd.session.ID)
				hashes[i] = []string{rt.TokenHash}
				return s.CreateRefreshToken(ctx, rt)
			case i%3 == 1:
				old := newRefreshToken(fmt.Sprintf("rt-old-%d", i), "", "", "", "")
				next := successor(fmt.Sprintf("rt-next-%d", i), now)
				hashes[i] = []string{old.TokenHash, next.TokenHash}
				_, err := s.RotateRefreshToken(ctx, old.TokenHash, next, now, storage.ReuseGrace{})
				return err
			default:
				f := newSealedFixture(sd, fmt.Sprintf("req-del-%d", i), sd.user.ID, sd.session.ID)
				f.red.SessionIdle = 0
				hashes[i], codes[i] = []string{f.red.RefreshToken.TokenHash}, f.red.CodeHash
				_, err := s.RedeemSealedCode(ctx, f.red, f.req)
				return err
			}
		})
		// A deletion that meets a rotation of one of its tokens can be a
		// deadlock's victim (PostgreSQL); a caller tries again.
		for errors.Is(errs[n], storage.ErrConflict) {
			errs[n] = tc.remove(s, sd)
		}
		mustOK(t, errs[n], "delete the %s", tc.name)
		tally(t, "writers", errs[:n], storage.ErrNotFound, storage.ErrConflict)

		mustOK(t, tc.revive(s, sd), "register the %s again", tc.name)
		for i, hs := range hashes {
			for _, h := range hs {
				_, err := s.GetRefreshToken(ctx, h)
				wantErr(t, err, storage.ErrNotFound, "writer %d's refresh token after the %s was deleted", i, tc.name)
			}
		}
		for i, code := range codes {
			if code == "" || !tc.tombstones {
				continue
			}
			// A tombstone left behind would make this ErrCodeReused.
			f := newSealedFixture(sd, fmt.Sprintf("req-del-%d", i), sd.user.ID, sd.session.ID)
			f.red.SessionIdle, f.red.RefreshToken = 0, nil
			_, err := s.RedeemSealedCode(ctx, f.red, f.req)
			if errors.Is(err, storage.ErrCodeReused) {
				t.Errorf("writer %d's code tombstone outlived the deleted client", i)
			} else {
				mustOK(t, err, "RedeemSealedCode of writer %d's code for the new client", i)
			}
		}
		_, err := s.GetRefreshToken(ctx, control.TokenHash)
		mustOK(t, err, "GetRefreshToken of another client's and user's token")
	})
}
