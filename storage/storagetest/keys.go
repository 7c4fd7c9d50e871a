package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testSigningKeys covers storage.SigningKeys. The subtests share one store;
// each works on its own algorithm label (the store treats algorithms as
// opaque strings), so they do not see each other's keys.
func testSigningKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()

	keys, err := s.ListSigningKeys(ctx)
	mustOK(t, err, "ListSigningKeys on an empty store")
	if len(keys) != 0 {
		t.Fatalf("ListSigningKeys on an empty store returned %d keys", len(keys))
	}

	// Inserted out of order; IDs sort differently from creation times.
	retired := newSigningKey("kid-c", at(-72*time.Hour))
	retired.State = storage.KeyRetired
	retired.Algorithm = "ES256"
	retired.ActivatedAt = at(-71 * time.Hour)
	retired.RetiredAt = at(-time.Hour)
	retired.RemoveAfter = at(23 * time.Hour)
	current := newSigningKey("kid-a", at(-48*time.Hour))
	current.State = storage.KeyCurrent
	current.ActivatedAt = at(-time.Hour)
	next := newSigningKey("kid-b", at(-time.Minute))

	var want []*storage.SigningKey
	for _, k := range []*storage.SigningKey{current, next, retired} {
		mustOK(t, s.CreateSigningKey(ctx, k), "CreateSigningKey(%s)", k.ID)
		want = append(want, deepCopy(k))
		scribble(k) // the store must not keep the caller's value
	}
	want = []*storage.SigningKey{want[2], want[0], want[1]} // oldest first

	// list returns the keys of the algorithms (all keys when none given).
	list := func(t *testing.T, algs ...string) []*storage.SigningKey {
		t.Helper()
		keys, err := s.ListSigningKeys(ctx)
		mustOK(t, err, "ListSigningKeys")
		if len(algs) == 0 {
			return keys
		}
		var out []*storage.SigningKey
		for _, k := range keys {
			for _, a := range algs {
				if k.Algorithm == a {
					out = append(out, k)
				}
			}
		}
		return out
	}
	keys = list(t)
	assertEqual(t, "ListSigningKeys (oldest first)", want, keys)
	scribble(keys)
	assertEqual(t, "ListSigningKeys after mutating an earlier result", want, list(t))

	t.Run("Duplicate", func(t *testing.T) {
		wantErr(t, s.CreateSigningKey(ctx, newSigningKey("kid-a", at(0))), storage.ErrAlreadyExists, "CreateSigningKey(kid-a)")
		assertEqual(t, "keys after a failed insert", want, list(t))
	})

	t.Run("OneNextAndOneCurrentPerAlgorithm", func(t *testing.T) {
		const alg = "alg-unique"
		key := func(id, state string) *storage.SigningKey {
			k := newSigningKey(id, at(0))
			k.Algorithm, k.State = alg, state
			if state != storage.KeyNext {
				k.ActivatedAt = at(0)
			}
			if state == storage.KeyRetired {
				k.RetiredAt, k.RemoveAfter = at(0), at(500*time.Hour)
			}
			return k
		}
		for _, k := range []*storage.SigningKey{
			key("u-cur", storage.KeyCurrent), key("u-next", storage.KeyNext),
			key("u-ret1", storage.KeyRetired), key("u-ret2", storage.KeyRetired), // retired: any number
		} {
			mustOK(t, s.CreateSigningKey(ctx, k), "CreateSigningKey(%s)", k.ID)
		}
		wantErr(t, s.CreateSigningKey(ctx, key("u-cur2", storage.KeyCurrent)), storage.ErrAlreadyExists, "second current key")
		wantErr(t, s.CreateSigningKey(ctx, key("u-next2", storage.KeyNext)), storage.ErrAlreadyExists, "second next key")
		if got := len(list(t, alg)); got != 4 {
			t.Errorf("%s has %d keys after refused inserts, want 4", alg, got)
		}
		// Another algorithm is independent.
		other := key("u-other", storage.KeyCurrent)
		other.Algorithm = "alg-unique-other"
		mustOK(t, s.CreateSigningKey(ctx, other), "current key of another algorithm")
		assertEqual(t, "the first keys after the refused inserts", want, list(t, "RS256", "ES256"))
	})

	t.Run("Promote", func(t *testing.T) {
		// Rotation: next becomes current, current becomes retired, in one step.
		mustOK(t, s.PromoteSigningKey(ctx, "kid-b", at(0), at(24*time.Hour)), "PromoteSigningKey(kid-b)")
		want[1].State, want[1].RetiredAt, want[1].RemoveAfter = storage.KeyRetired, at(0), at(24*time.Hour)
		want[2].State, want[2].ActivatedAt = storage.KeyCurrent, at(0)
		assertEqual(t, "keys after rotation", want, list(t, "RS256", "ES256"))

		for _, tc := range []struct {
			name, id string
			err      error
		}{
			{"already current", "kid-b", storage.ErrConflict},
			{"retired", "kid-a", storage.ErrConflict},
			{"missing", "kid-missing", storage.ErrNotFound},
		} {
			wantErr(t, s.PromoteSigningKey(ctx, tc.id, at(time.Hour), at(25*time.Hour)), tc.err, "PromoteSigningKey(%s) (%s)", tc.id, tc.name)
		}
		assertEqual(t, "keys after refused promotions", want, list(t, "RS256", "ES256"))

		// The algorithm may have a new next key now, still not a second current one.
		wantErr(t, s.CreateSigningKey(ctx, func() *storage.SigningKey {
			k := newSigningKey("kid-x", at(time.Minute))
			k.State, k.ActivatedAt = storage.KeyCurrent, at(time.Minute)
			return k
		}()), storage.ErrAlreadyExists, "a second current RS256 key after rotation")
		mustOK(t, s.CreateSigningKey(ctx, newSigningKey("kid-d", at(time.Minute))), "a new next RS256 key after rotation")
		want = append(want, newSigningKey("kid-d", at(time.Minute)))
		assertEqual(t, "keys with the new next key", want, list(t, "RS256", "ES256"))
	})

	t.Run("PromoteWithoutCurrent", func(t *testing.T) {
		const alg = "alg-first"
		k := newSigningKey("f-next", at(0))
		k.Algorithm = alg
		mustOK(t, s.CreateSigningKey(ctx, k), "CreateSigningKey")
		mustOK(t, s.PromoteSigningKey(ctx, k.ID, at(time.Hour), at(48*time.Hour)), "PromoteSigningKey")
		k.State, k.ActivatedAt = storage.KeyCurrent, at(time.Hour)
		assertEqual(t, "the only key, promoted", []*storage.SigningKey{k}, list(t, alg))
	})

	t.Run("UpdateCiphertext", func(t *testing.T) {
		ct := []byte("re-encrypted\x00kid-b")
		mustOK(t, s.UpdateSigningKeyCiphertext(ctx, "kid-b", ct), "UpdateSigningKeyCiphertext(kid-b)")
		want[2].EncryptedKey = []byte("re-encrypted\x00kid-b")
		scribble(ct)
		assertEqual(t, "keys after re-encryption (only the ciphertext changed)", want, list(t, "RS256", "ES256"))
		wantErr(t, s.UpdateSigningKeyCiphertext(ctx, "kid-missing", ct), storage.ErrNotFound, "UpdateSigningKeyCiphertext(kid-missing)")
	})

	t.Run("DeleteRetired", func(t *testing.T) {
		keep := newSigningKey("kid-keep", at(-time.Hour)) // retired without RemoveAfter
		keep.Algorithm, keep.State, keep.ActivatedAt, keep.RetiredAt = "alg-keep", storage.KeyRetired, at(-time.Hour), at(0)
		mustOK(t, s.CreateSigningKey(ctx, keep), "CreateSigningKey(kid-keep)")
		for _, tc := range []struct {
			name string
			now  time.Time
			want []string
		}{
			{"nothing due", at(time.Hour), nil},
			{"RemoveAfter equal to now is kept", at(23 * time.Hour), nil},
			{"one microsecond later", at(23*time.Hour + time.Microsecond), []string{"kid-c"}},
			{"much later: retired keys only", at(1000 * time.Hour), []string{"kid-a", "u-ret1", "u-ret2"}},
			{"again", at(1000 * time.Hour), nil},
		} {
			ids, err := s.DeleteRetiredSigningKeys(ctx, tc.now)
			mustOK(t, err, "DeleteRetiredSigningKeys (%s)", tc.name)
			assertStrings(t, "deleted IDs ("+tc.name+")", tc.want, ids)
		}
		var ids []string
		for _, k := range list(t, "RS256", "ES256", "alg-keep") {
			ids = append(ids, k.ID+"/"+k.State)
		}
		assertStrings(t, "keys left", []string{"kid-keep/retired", "kid-b/current", "kid-d/next"}, ids)
	})

	t.Run("Delete", func(t *testing.T) {
		mustOK(t, s.DeleteSigningKey(ctx, "kid-keep"), "DeleteSigningKey")
		wantErr(t, s.DeleteSigningKey(ctx, "kid-keep"), storage.ErrNotFound, "DeleteSigningKey twice")
		wantErr(t, s.DeleteSigningKey(ctx, "kid-missing"), storage.ErrNotFound, "DeleteSigningKey(kid-missing)")
		var ids []string
		for _, k := range list(t, "RS256", "ES256", "alg-keep") {
			ids = append(ids, k.ID)
		}
		assertStrings(t, "key IDs after delete", []string{"kid-b", "kid-d"}, ids)
	})

	t.Run("ConcurrentPromote", func(t *testing.T) {
		const n, alg = 50, "alg-race"
		cur := newSigningKey("r-cur", at(-time.Hour))
		cur.Algorithm, cur.State, cur.ActivatedAt = alg, storage.KeyCurrent, at(-time.Hour)
		nxt := newSigningKey("r-next", at(-time.Minute))
		nxt.Algorithm = alg
		mustOK(t, s.CreateSigningKey(ctx, cur), "CreateSigningKey(current)")
		mustOK(t, s.CreateSigningKey(ctx, nxt), "CreateSigningKey(next)")
		errs := race(n, func(i int) error {
			return s.PromoteSigningKey(ctx, "r-next", at(time.Duration(i)*time.Second), at(24*time.Hour))
		})
		ok, counts := tally(t, "PromoteSigningKey", errs, storage.ErrConflict)
		if ok != 1 || counts[storage.ErrConflict] != n-1 {
			t.Fatalf("%d concurrent promotions: %d succeeded, %d got ErrConflict; want 1 and %d", n, ok, counts[storage.ErrConflict], n-1)
		}
		states := map[string]string{}
		for _, k := range list(t, alg) {
			states[k.ID] = k.State
		}
		assertEqual(t, "states after the race", map[string]string{"r-cur": storage.KeyRetired, "r-next": storage.KeyCurrent}, states)
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		const n = 50
		for _, state := range []string{storage.KeyCurrent, storage.KeyNext} {
			alg := "alg-race-create-" + state
			errs := race(n, func(i int) error {
				k := newSigningKey(fmt.Sprintf("c-%s-%d", state, i), at(0))
				k.Algorithm, k.State = alg, state
				if state == storage.KeyCurrent {
					k.ActivatedAt = at(0)
				}
				return s.CreateSigningKey(ctx, k)
			})
			ok, counts := tally(t, "CreateSigningKey", errs, storage.ErrAlreadyExists)
			if ok != 1 || counts[storage.ErrAlreadyExists] != n-1 {
				t.Errorf("%d concurrent %s keys: %d created, %d got ErrAlreadyExists; want 1 and %d",
					n, state, ok, counts[storage.ErrAlreadyExists], n-1)
			}
			if got := len(list(t, alg)); got != 1 {
				t.Errorf("%d %s keys stored, want 1", got, state)
			}
		}
	})
}
