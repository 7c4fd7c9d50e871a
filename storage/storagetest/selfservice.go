package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testUserTokens: single-use tokens are found by hash and purpose until
// they expire, consumed once, replaced by a newer one of the same purpose,
// and refused for a missing user.
func testUserTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	tok := func(hash, userID, purpose string) *storage.UserToken {
		return &storage.UserToken{Hash: hash, UserID: userID, Purpose: purpose, Email: "a@example.com",
			Stamp: "stamp", CreatedAt: at(0), ExpiresAt: at(30 * time.Minute)}
	}
	reset1 := tok("h-reset-1", sd.user.ID, storage.TokenPasswordReset)
	verify := tok("h-verify", sd.user.ID, storage.TokenVerifyEmail)
	other := tok("h-other", sd.user2.ID, storage.TokenPasswordReset)
	for _, x := range []*storage.UserToken{reset1, verify, other} {
		mustOK(t, s.CreateUserToken(ctx, x), "CreateUserToken %s", x.Hash)
	}
	wantErr(t, s.CreateUserToken(ctx, tok("h-x", "no-such-user", storage.TokenPasswordReset)), storage.ErrNotFound,
		"CreateUserToken for a missing user")
	wantErr(t, s.CreateUserToken(ctx, tok("h-other", sd.user.ID, storage.TokenVerifyEmail)), storage.ErrAlreadyExists,
		"CreateUserToken with a taken hash")

	got, err := s.GetUserToken(ctx, "h-reset-1", storage.TokenPasswordReset, at(time.Minute))
	mustOK(t, err, "GetUserToken")
	assertEqual(t, "stored token", reset1, got)
	for _, c := range []struct {
		name, hash, purpose string
		now                 time.Time
	}{
		{"wrong purpose", "h-reset-1", storage.TokenVerifyEmail, at(0)},
		{"unknown hash", "h-nope", storage.TokenPasswordReset, at(0)},
		{"at expiry", "h-reset-1", storage.TokenPasswordReset, at(30 * time.Minute)},
	} {
		_, err := s.GetUserToken(ctx, c.hash, c.purpose, c.now)
		wantErr(t, err, storage.ErrNotFound, "GetUserToken, %s", c.name)
	}

	// A newer link of the same purpose replaces the older one; the other
	// purpose and the other user keep theirs.
	reset2 := tok("h-reset-2", sd.user.ID, storage.TokenPasswordReset)
	mustOK(t, s.CreateUserToken(ctx, reset2), "CreateUserToken (newer)")
	_, err = s.ConsumeUserToken(ctx, "h-reset-1", storage.TokenPasswordReset, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "ConsumeUserToken of a replaced token")
	_, err = s.ConsumeUserToken(ctx, "h-verify", storage.TokenPasswordReset, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "ConsumeUserToken with the wrong purpose")
	got, err = s.ConsumeUserToken(ctx, "h-verify", storage.TokenVerifyEmail, at(time.Minute))
	mustOK(t, err, "ConsumeUserToken (verify)")
	assertEqual(t, "consumed token", verify, got)
	_, err = s.ConsumeUserToken(ctx, "h-verify", storage.TokenVerifyEmail, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "ConsumeUserToken twice")

	_, err = s.ConsumeUserToken(ctx, "h-reset-2", storage.TokenPasswordReset, at(30*time.Minute))
	wantErr(t, err, storage.ErrNotFound, "ConsumeUserToken at expiry")
	_, err = s.ConsumeUserToken(ctx, "h-reset-2", storage.TokenPasswordReset, at(0))
	wantErr(t, err, storage.ErrNotFound, "ConsumeUserToken after an expired attempt removed it")

	n, err := s.DeleteUserTokens(ctx, sd.user2.ID, storage.TokenPasswordReset)
	mustOK(t, err, "DeleteUserTokens")
	if n != 1 {
		t.Errorf("DeleteUserTokens removed %d, want 1", n)
	}
	_, err = s.GetUserToken(ctx, "h-other", storage.TokenPasswordReset, at(0))
	wantErr(t, err, storage.ErrNotFound, "GetUserToken after DeleteUserTokens")
}

// testConcurrentUserTokenConsume: of concurrent consumers of one token
// exactly one wins.
func testConcurrentUserTokenConsume(t *testing.T, s storage.Store) {
	const n = 10
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateUserToken(ctx, &storage.UserToken{Hash: "h", UserID: sd.user.ID, Purpose: storage.TokenPasswordReset,
		CreatedAt: at(0), ExpiresAt: at(time.Hour)}), "CreateUserToken")
	errs := race(n, func(int) error {
		_, err := s.ConsumeUserToken(ctx, "h", storage.TokenPasswordReset, at(time.Minute))
		return err
	})
	if ok, _ := tally(t, "ConsumeUserToken", errs, storage.ErrNotFound); ok != 1 {
		t.Errorf("%d consumers won, want exactly 1", ok)
	}
}
