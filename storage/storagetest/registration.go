package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// registrationTests pin the initial access tokens of dynamic client
// registration (issue 19 item 7).
var registrationTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}{
	{"InitialAccessTokenUses", testInitialAccessTokenUses},
	{"ConcurrentInitialAccessTokenUse", testConcurrentInitialAccessTokenUse},
	{"DeleteExpiredInitialAccessTokens", testDeleteExpiredInitialAccessTokens},
}

func newInitial(id string, uses int) *storage.InitialAccessToken {
	return &storage.InitialAccessToken{ID: id, TokenHash: storage.HashToken("iat-" + id), UsesLeft: uses,
		CreatedAt: at(0), ExpiresAt: at(time.Hour)}
}

// testInitialAccessTokenUses: a token is usable as many times as it
// allows, until it expires; a used-up, expired or unknown one is not
// found.
func testInitialAccessTokenUses(t *testing.T, s storage.Store) {
	ctx := t.Context()
	tok := newInitial("iat-1", 2)
	mustOK(t, s.CreateInitialAccessToken(ctx, tok), "CreateInitialAccessToken")
	wantErr(t, s.CreateInitialAccessToken(ctx, tok), storage.ErrAlreadyExists, "same token again")
	got, err := s.GetInitialAccessToken(ctx, tok.TokenHash, at(time.Minute))
	mustOK(t, err, "GetInitialAccessToken")
	assertEqual(t, "initial access token", tok, got)
	for want := 1; want >= 0; want-- {
		got, err := s.UseInitialAccessToken(ctx, tok.TokenHash, at(time.Minute))
		mustOK(t, err, "UseInitialAccessToken")
		if got.UsesLeft != want {
			t.Errorf("uses left = %d, want %d", got.UsesLeft, want)
		}
	}
	_, err = s.UseInitialAccessToken(ctx, tok.TokenHash, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "used up")
	_, err = s.GetInitialAccessToken(ctx, tok.TokenHash, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "get used up")

	old := newInitial("iat-2", 5)
	mustOK(t, s.CreateInitialAccessToken(ctx, old), "create")
	_, err = s.GetInitialAccessToken(ctx, old.TokenHash, at(time.Hour))
	wantErr(t, err, storage.ErrNotFound, "get at expiry")
	_, err = s.UseInitialAccessToken(ctx, old.TokenHash, at(time.Hour))
	wantErr(t, err, storage.ErrNotFound, "use at expiry")
	_, err = s.UseInitialAccessToken(ctx, storage.HashToken("unknown"), at(0))
	wantErr(t, err, storage.ErrNotFound, "unknown")
}

// testConcurrentInitialAccessTokenUse: of n concurrent uses of a token
// with k uses, exactly k succeed.
func testConcurrentInitialAccessTokenUse(t *testing.T, s storage.Store) {
	const n, k = 20, 3
	ctx := t.Context()
	tok := newInitial("iat-race", k)
	mustOK(t, s.CreateInitialAccessToken(ctx, tok), "CreateInitialAccessToken")
	errs := race(n, func(int) error {
		_, err := s.UseInitialAccessToken(ctx, tok.TokenHash, at(time.Minute))
		return err
	})
	ok, counts := tally(t, "UseInitialAccessToken", errs, storage.ErrNotFound)
	if ok != k || counts[storage.ErrNotFound] != n-k {
		t.Fatalf("%d concurrent uses of a %d-use token: %d succeeded, %d not found", n, k, ok, counts[storage.ErrNotFound])
	}
}

// testDeleteExpiredInitialAccessTokens: the cleanup removes tokens that
// expired or are used up, at most limit per call, and keeps usable ones.
func testDeleteExpiredInitialAccessTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		uses int
		exp  time.Duration
	}{
		{"usable", 2, time.Hour},
		{"last use left", 1, time.Minute},
		{"used up", 0, time.Hour},
		{"expired", 3, -time.Minute},
		{"expired and used up", 0, -time.Hour},
	} {
		tok := newInitial(tc.name, tc.uses)
		tok.ExpiresAt = at(tc.exp)
		mustOK(t, s.CreateInitialAccessToken(ctx, tok), "CreateInitialAccessToken %s", tc.name)
	}
	if _, err := s.DeleteExpiredInitialAccessTokens(ctx, at(0), 0); err == nil {
		t.Error("limit 0 accepted")
	}
	total, calls := drain(t, 2, func(l int) (int, error) { return s.DeleteExpiredInitialAccessTokens(ctx, at(0), l) })
	if total != 3 || calls != 2 {
		t.Errorf("deleted %d in %d calls, want 3 in 2", total, calls)
	}
	for _, name := range []string{"usable", "last use left"} {
		if _, err := s.GetInitialAccessToken(ctx, storage.HashToken("iat-"+name), at(0)); err != nil {
			t.Errorf("%s: %v after the cleanup, want it kept", name, err)
		}
	}
	if _, err := s.UseInitialAccessToken(ctx, storage.HashToken("iat-usable"), at(0)); err != nil {
		t.Errorf("a kept token cannot be used: %v", err)
	}
	if n, err := s.DeleteExpiredInitialAccessTokens(ctx, at(0), 10); err != nil || n != 0 {
		t.Errorf("second cleanup deleted %d, %v; want 0", n, err)
	}
}
