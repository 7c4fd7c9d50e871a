package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testTOTPFactor: an unconfirmed factor can be replaced, the first
// accepted step confirms it, a step at or before the last is a conflict
// (replay), a confirmed factor cannot be overwritten, and deleting it
// leaves nothing.
func testTOTPFactor(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	_, err := s.GetTOTP(ctx, "u1")
	wantErr(t, err, storage.ErrNotFound, "get before put")
	wantErr(t, s.PutTOTP(ctx, &storage.TOTP{UserID: "nobody", Secret: []byte("x"), CreatedAt: at(0)}), storage.ErrNotFound, "put for a missing user")
	wantErr(t, s.UseTOTPStep(ctx, "u1", 5, at(0)), storage.ErrNotFound, "use without a factor")

	mustOK(t, s.PutTOTP(ctx, &storage.TOTP{UserID: "u1", Secret: []byte("first"), CreatedAt: at(0)}), "put")
	mustOK(t, s.PutTOTP(ctx, &storage.TOTP{UserID: "u1", Secret: []byte("second"), CreatedAt: at(time.Second)}), "replace unconfirmed")
	got, err := s.GetTOTP(ctx, "u1")
	mustOK(t, err, "get")
	assertEqual(t, "unconfirmed totp", &storage.TOTP{UserID: "u1", Secret: []byte("second"), CreatedAt: at(time.Second)}, got)
	if got.Confirmed() {
		t.Fatal("a factor is confirmed before any code")
	}

	mustOK(t, s.UseTOTPStep(ctx, "u1", 100, at(time.Minute)), "first step")
	wantErr(t, s.UseTOTPStep(ctx, "u1", 100, at(time.Minute)), storage.ErrConflict, "same step again")
	wantErr(t, s.UseTOTPStep(ctx, "u1", 99, at(time.Minute)), storage.ErrConflict, "earlier step")
	mustOK(t, s.UseTOTPStep(ctx, "u1", 101, at(2*time.Minute)), "next step")
	got, err = s.GetTOTP(ctx, "u1")
	mustOK(t, err, "get confirmed")
	assertEqual(t, "confirmed totp", &storage.TOTP{UserID: "u1", Secret: []byte("second"), CreatedAt: at(time.Second),
		ConfirmedAt: at(time.Minute), LastStep: 101}, got)

	wantErr(t, s.PutTOTP(ctx, &storage.TOTP{UserID: "u1", Secret: []byte("third"), CreatedAt: at(time.Hour)}), storage.ErrAlreadyExists, "overwrite confirmed")
	got.Secret[0] = 'X' // a returned value is a copy
	again, err := s.GetTOTP(ctx, "u1")
	mustOK(t, err, "get again")
	assertEqual(t, "secret after scribble", []byte("second"), again.Secret)

	mustOK(t, s.DeleteTOTP(ctx, "u1"), "delete")
	wantErr(t, s.DeleteTOTP(ctx, "u1"), storage.ErrNotFound, "delete again")
	_, err = s.GetTOTP(ctx, "u1")
	wantErr(t, err, storage.ErrNotFound, "get after delete")
}

// testRecoveryCodes: each code works once, replacing invalidates the old
// set, and the count is of unused codes.
func testRecoveryCodes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	mustOK(t, s.CreateUser(ctx, newUser("u1", "alice")), "create user")
	mustOK(t, s.CreateUser(ctx, newUser("u2", "bob")), "create user 2")
	wantErr(t, s.ReplaceRecoveryCodes(ctx, "nobody", []string{"h"}, at(0)), storage.ErrNotFound, "codes for a missing user")
	mustOK(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"a", "b", "c"}, at(0)), "set codes")
	mustOK(t, s.ReplaceRecoveryCodes(ctx, "u2", []string{"a"}, at(0)), "set codes 2")
	n, err := s.CountRecoveryCodes(ctx, "u1")
	mustOK(t, err, "count")
	assertEqual(t, "codes left", 3, n)

	mustOK(t, s.UseRecoveryCode(ctx, "u1", "b", at(time.Minute)), "use b")
	wantErr(t, s.UseRecoveryCode(ctx, "u1", "b", at(time.Minute)), storage.ErrNotFound, "use b again")
	wantErr(t, s.UseRecoveryCode(ctx, "u1", "zzz", at(time.Minute)), storage.ErrNotFound, "unknown code")
	n, _ = s.CountRecoveryCodes(ctx, "u1")
	assertEqual(t, "codes left after one use", 2, n)

	mustOK(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"d", "e"}, at(time.Hour)), "regenerate")
	wantErr(t, s.UseRecoveryCode(ctx, "u1", "a", at(time.Hour)), storage.ErrNotFound, "old code after regenerate")
	mustOK(t, s.UseRecoveryCode(ctx, "u1", "d", at(time.Hour)), "new code")
	n, _ = s.CountRecoveryCodes(ctx, "u2")
	assertEqual(t, "other user's codes untouched", 1, n)
}

// testFactorsGoWithUser: DeleteFactors and deleting the user remove
// every factor.
func testFactorsGoWithUser(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, id := range []string{"u1", "u2"} {
		mustOK(t, s.CreateUser(ctx, newUser(id, "user-"+id)), "create user")
		mustOK(t, s.PutTOTP(ctx, &storage.TOTP{UserID: id, Secret: []byte("s"), CreatedAt: at(0)}), "put")
		mustOK(t, s.ReplaceRecoveryCodes(ctx, id, []string{"a"}, at(0)), "codes")
	}
	mustOK(t, s.DeleteFactors(ctx, "u1"), "reset factors")
	mustOK(t, s.DeleteFactors(ctx, "u1"), "reset with none left")
	mustOK(t, s.DeleteUser(ctx, "u2"), "delete user")
	for _, id := range []string{"u1", "u2"} {
		_, err := s.GetTOTP(ctx, id)
		wantErr(t, err, storage.ErrNotFound, "totp of %s", id)
		n, err := s.CountRecoveryCodes(ctx, id)
		mustOK(t, err, "count")
		assertEqual(t, "codes of "+id, 0, n)
	}
}
