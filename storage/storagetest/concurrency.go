package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// race runs fn(i) for i in [0, n) on n goroutines released at the same
// moment, and returns the errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors wrapping each allowed sentinel, and
// fails the test on any other error.
func tally(t *testing.T, what string, errs []error, allowed ...error) (ok int, counts map[error]int) {
	t.Helper()
	counts = make(map[error]int)
next:
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		for _, a := range allowed {
			if errors.Is(err, a) {
				counts[a]++
				continue next
			}
		}
		t.Errorf("%s: goroutine %d: unexpected error %v", what, i, err)
	}
	return ok, counts
}

func testConcurrentCodeConsume(t *testing.T, s storage.Store) {
	const n = 50
	ctx := t.Context()
	sd := seedRows(t, s)
	req := newAuthRequest("req-race", sd.client.ID)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0)}), "AuthenticateAuthRequest")
	codeHash := storage.HashToken("code-race")
	mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")

	results := make([]*storage.AuthRequest, n)
	errs := race(n, func(i int) error {
		var err error
		results[i], err = consumeCode(ctx, s, codeHash, at(0))
		return err
	})
	// Every loser sees the winner's tombstone (RFC 6749 §4.1.2), never a
	// half-consumed code.
	ok, counts := tally(t, "consumeCode", errs, storage.ErrCodeReused)
	if ok != 1 || counts[storage.ErrCodeReused] != n-1 {
		t.Fatalf("%d concurrent consumeCode: %d succeeded and %d got ErrCodeReused; want 1 and %d",
			n, ok, counts[storage.ErrCodeReused], n-1)
	}
	var winner *storage.AuthRequest
	for i, r := range results {
		if errs[i] == nil {
			winner = r
		}
	}
	if winner == nil || winner.ID != req.ID || winner.UserID != sd.user.ID || winner.FamilyID == "" {
		t.Fatalf("winner got %+v, want request %s of %s with a family", winner, req.ID, sd.user.ID)
	}
	for i, err := range errs {
		if err != nil {
			wantCodeReused(t, err, req, winner.FamilyID, "loser %d", i)
		}
	}
}

func testConcurrentCodeIssue(t *testing.T, s storage.Store) {
	const n = 20
	ctx := t.Context()
	sd := seedRows(t, s)
	req := newAuthRequest("req-race", sd.client.ID)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0)}), "AuthenticateAuthRequest")

	hash := func(i int) string { return storage.HashToken(fmt.Sprintf("code-%d", i)) }
	errs := race(n, func(i int) error {
		return s.IssueAuthCode(ctx, req.ID, hash(i), at(time.Minute))
	})
	ok, counts := tally(t, "IssueAuthCode", errs, storage.ErrConflict)
	if ok != 1 || counts[storage.ErrConflict] != n-1 {
		t.Fatalf("%d concurrent IssueAuthCode: %d succeeded and %d got ErrConflict; want 1 and %d",
			n, ok, counts[storage.ErrConflict], n-1)
	}
	for i, err := range errs {
		_, cerr := consumeCode(ctx, s, hash(i), at(0))
		if err == nil {
			mustOK(t, cerr, "consumeCode of the winning code")
		} else {
			wantErr(t, cerr, storage.ErrNotFound, "consumeCode of losing code %d", i)
		}
	}
}

func testConcurrentRefreshRotate(t *testing.T, s storage.Store) {
	const n = 20
	ctx := t.Context()
	sd := seedRows(t, s)
	old := newRefreshToken("rt-race", "fam-race", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken")

	now := at(time.Minute)
	nexts := make([]*storage.RefreshToken, n)
	for i := range nexts {
		nexts[i] = successor(fmt.Sprintf("rt-race-%d", i), now)
	}
	results := make([]*storage.RefreshToken, n)
	errs := race(n, func(i int) error {
		var err error
		results[i], err = s.RotateRefreshToken(ctx, old.TokenHash, nexts[i], now, storage.ReuseGrace{})
		return err
	})
	ok, counts := tally(t, "RotateRefreshToken", errs, storage.ErrTokenReused, storage.ErrNotFound)
	if ok != 1 {
		t.Fatalf("%d concurrent RotateRefreshToken: %d succeeded, want exactly 1 (reused %d, not found %d)",
			n, ok, counts[storage.ErrTokenReused], counts[storage.ErrNotFound])
	}
	// Every loser came after the winner's rotation: the first to look saw a
	// rotated token (a reuse); any later one saw the revoked family.
	if counts[storage.ErrTokenReused] == 0 {
		t.Errorf("no loser saw ErrTokenReused; the first loser must see a rotated token")
	}

	for i, err := range errs {
		got, gerr := s.GetRefreshToken(ctx, nexts[i].TokenHash)
		if err != nil {
			wantErr(t, gerr, storage.ErrNotFound, "successor %d of a losing rotation", i)
			continue
		}
		mustOK(t, gerr, "GetRefreshToken of the winning successor")
		assertEqual(t, "winning successor", wantSuccessor(old, nexts[i]), results[i])
		if counts[storage.ErrTokenReused] > 0 && !got.RevokedAt.Equal(now) {
			t.Errorf("winning successor RevokedAt = %v after a reuse, want %v", got.RevokedAt, now)
		}
	}
	rt := getRefresh(t, s, old.TokenHash)
	if !rt.RotatedAt.Equal(now) {
		t.Errorf("old token RotatedAt = %v, want %v", rt.RotatedAt, now)
	}
	if counts[storage.ErrTokenReused] > 0 && !rt.RevokedAt.Equal(now) {
		t.Errorf("old token RevokedAt = %v after a reuse, want %v", rt.RevokedAt, now)
	}
}

func testConcurrentConsentSave(t *testing.T, s storage.Store) {
	const n = 10
	ctx := t.Context()
	sd := seedRows(t, s)
	scope := func(i int) string { return fmt.Sprintf("scope-%02d", i) }
	errs := race(n, func(i int) error {
		return s.SaveConsent(ctx, &storage.Consent{
			UserID: sd.user.ID, ClientID: sd.client.ID, Scopes: []string{"openid", scope(i)}, GrantedAt: at(0),
		})
	})
	tally(t, "SaveConsent", errs)
	got, err := s.GetConsent(ctx, sd.user.ID, sd.client.ID)
	mustOK(t, err, "GetConsent")
	want := []string{"openid"}
	for i := range n {
		want = append(want, scope(i))
	}
	// No save may be lost, and openid appears once.
	assertStrings(t, "scopes after concurrent saves", sorted(want), sorted(got.Scopes))
}

func testConcurrentSessionClientAdd(t *testing.T, s storage.Store) {
	const n = 10
	ctx := t.Context()
	sd := seedRows(t, s)
	errs := race(n, func(i int) error {
		return s.AddSessionClient(ctx, sd.session.ID, []string{sd.client.ID, sd.client2.ID}[i%2])
	})
	tally(t, "AddSessionClient", errs)
	ids, err := s.ListSessionClients(ctx, sd.session.ID)
	mustOK(t, err, "ListSessionClients")
	assertStrings(t, "session clients after concurrent adds", []string{sd.client.ID, sd.client2.ID}, ids)
}

// testConcurrentRefreshRotateGrace (checklist R5 with a grace window): of N
// concurrent rotations of one token exactly 1 + MaxReuses succeed.
func testConcurrentRefreshRotateGrace(t *testing.T, s storage.Store) {
	const n = 20
	grace := storage.ReuseGrace{Window: time.Minute, MaxReuses: 2}
	ctx := t.Context()
	sd := seedRows(t, s)
	old := newRefreshToken("rt-race", "fam-race", sd.client.ID, sd.user.ID, sd.session.ID)
	mustOK(t, s.CreateRefreshToken(ctx, old), "CreateRefreshToken")
	now := at(time.Minute)
	errs := race(n, func(i int) error {
		_, err := s.RotateRefreshToken(ctx, old.TokenHash, successor(fmt.Sprintf("rt-race-%d", i), now), now, grace)
		return err
	})
	ok, counts := tally(t, "RotateRefreshToken", errs, storage.ErrTokenReused, storage.ErrNotFound)
	if ok != 1+grace.MaxReuses || counts[storage.ErrTokenReused] == 0 {
		t.Fatalf("%d concurrent rotations with %d reuses allowed: %d succeeded, %d reused, %d not found; want %d successes and a reuse",
			n, grace.MaxReuses, ok, counts[storage.ErrTokenReused], counts[storage.ErrNotFound], 1+grace.MaxReuses)
	}
}
