package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

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

	list := func(t *testing.T) []*storage.SigningKey {
		t.Helper()
		keys, err := s.ListSigningKeys(ctx)
		mustOK(t, err, "ListSigningKeys")
		return keys
	}
	keys = list(t)
	assertEqual(t, "ListSigningKeys (oldest first)", want, keys)
	scribble(keys)
	assertEqual(t, "ListSigningKeys after mutating an earlier result", want, list(t))

	t.Run("Duplicate", func(t *testing.T) {
		wantErr(t, s.CreateSigningKey(ctx, newSigningKey("kid-a", at(0))), storage.ErrAlreadyExists, "CreateSigningKey(kid-a)")
		assertEqual(t, "keys after a failed insert", want, list(t))
	})

	t.Run("Update", func(t *testing.T) {
		// Rotation: next becomes current, current becomes retired.
		promoted := deepCopy(want[2])
		promoted.State, promoted.ActivatedAt = storage.KeyCurrent, at(0)
		demoted := deepCopy(want[1])
		demoted.State, demoted.RetiredAt, demoted.RemoveAfter = storage.KeyRetired, at(0), at(24*time.Hour)
		for _, k := range []*storage.SigningKey{promoted, demoted} {
			mustOK(t, s.UpdateSigningKey(ctx, k), "UpdateSigningKey(%s)", k.ID)
		}
		want[1], want[2] = deepCopy(demoted), deepCopy(promoted)
		scribble(promoted)
		scribble(demoted)
		assertEqual(t, "keys after rotation", want, list(t))

		wantErr(t, s.UpdateSigningKey(ctx, newSigningKey("kid-missing", at(0))), storage.ErrNotFound, "UpdateSigningKey(kid-missing)")
		assertEqual(t, "keys after a failed update", want, list(t))
	})

	t.Run("Delete", func(t *testing.T) {
		mustOK(t, s.DeleteSigningKey(ctx, "kid-c"), "DeleteSigningKey")
		wantErr(t, s.DeleteSigningKey(ctx, "kid-c"), storage.ErrNotFound, "DeleteSigningKey twice")
		wantErr(t, s.DeleteSigningKey(ctx, "kid-missing"), storage.ErrNotFound, "DeleteSigningKey(kid-missing)")
		keys := list(t)
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		assertStrings(t, "key IDs after delete", []string{"kid-a", "kid-b"}, ids)
	})
}
