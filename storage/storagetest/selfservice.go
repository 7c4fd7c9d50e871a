package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func mailIDs(ms []*storage.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func claimMail(t *testing.T, s storage.Store, now time.Time) []*storage.Mail {
	t.Helper()
	ms, err := s.ClaimMail(t.Context(), now, time.Minute, 100)
	mustOK(t, err, "ClaimMail")
	return ms
}

func newMail(id string, due time.Time) *storage.Mail {
	return &storage.Mail{ID: id, Kind: "test", To: "alice@example.com", ToName: "Alice", Subject: "Hello",
		Text: "text " + id, HTML: "<p>" + id + "</p>", CreatedAt: at(0), NextAttemptAt: due}
}

// testMailLifecycle: the mail outbox follows the claim, lease and attempt
// rules of the logout outbox; a given-up message keeps its reason and
// loses its bodies.
func testMailLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	m1, later := newMail("m-1", at(0)), newMail("m-later", at(time.Hour))
	mustOK(t, s.EnqueueMail(ctx, m1), "EnqueueMail")
	mustOK(t, s.EnqueueMail(ctx, later), "EnqueueMail")
	wantErr(t, s.EnqueueMail(ctx, m1), storage.ErrAlreadyExists, "EnqueueMail with a taken ID")

	ms := claimMail(t, s, at(0))
	assertStrings(t, "first claim", []string{"m-1"}, mailIDs(ms))
	want := *m1
	want.Attempts, want.ClaimedUntil = 1, at(time.Minute)
	assertEqual(t, "claimed mail", &want, ms[0])
	assertStrings(t, "claim during the lease", nil, mailIDs(claimMail(t, s, at(30*time.Second))))

	assertStrings(t, "claim after the lease", []string{"m-1"}, mailIDs(claimMail(t, s, at(time.Minute))))
	wantErr(t, s.CompleteMail(ctx, "m-1", 1), storage.ErrNotFound, "CompleteMail of a stale attempt")
	mustOK(t, s.RetryMail(ctx, "m-1", 2, at(5*time.Minute), "421 try later"), "RetryMail")
	assertStrings(t, "claim before the retry is due", nil, mailIDs(claimMail(t, s, at(4*time.Minute))))
	ms = claimMail(t, s, at(5*time.Minute))
	if len(ms) != 1 || ms[0].Attempts != 3 || ms[0].LastError != "421 try later" || ms[0].Text != "text m-1" {
		t.Fatalf("retried mail = %+v, want m-1 attempt 3 with its reason and body", ms)
	}
	pending, failed, err := s.CountMail(ctx)
	mustOK(t, err, "CountMail")
	if pending != 2 || failed != 0 {
		t.Errorf("CountMail = %d pending, %d failed; want 2, 0", pending, failed)
	}
	mustOK(t, s.FailMail(ctx, "m-1", 3, at(6*time.Minute), "550 no such user"), "FailMail")
	wantErr(t, s.CompleteMail(ctx, "m-1", 3), storage.ErrNotFound, "CompleteMail of a failed message")
	got, err := s.ListFailedMail(ctx)
	mustOK(t, err, "ListFailedMail")
	if len(got) != 1 || got[0].ID != "m-1" || !got[0].FailedAt.Equal(at(6*time.Minute)) ||
		got[0].LastError != "550 no such user" || got[0].Text != "" || got[0].HTML != "" || got[0].To != m1.To {
		t.Fatalf("failed mail = %+v, want m-1 with its reason and recipient and no bodies", got)
	}
	assertStrings(t, "a failed message is never claimed", []string{"m-later"}, mailIDs(claimMail(t, s, at(2*time.Hour))))
	mustOK(t, s.CompleteMail(ctx, "m-later", 1), "CompleteMail")
	wantErr(t, s.CompleteMail(ctx, "m-later", 1), storage.ErrNotFound, "CompleteMail twice")
	wantErr(t, s.RetryMail(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "RetryMail(no-such)")
	wantErr(t, s.FailMail(ctx, "no-such", 1, at(0), ""), storage.ErrNotFound, "FailMail(no-such)")
	pending, failed, err = s.CountMail(ctx)
	mustOK(t, err, "CountMail")
	if pending != 0 || failed != 1 {
		t.Errorf("CountMail = %d pending, %d failed; want 0, 1", pending, failed)
	}
}

// testConcurrentMailClaim: workers (replicas) claiming at once never get
// the same message, and together get all of them.
func testConcurrentMailClaim(t *testing.T, s storage.Store) {
	const mails, workers, batch = 30, 10, 5
	ctx := t.Context()
	for i := range mails {
		mustOK(t, s.EnqueueMail(ctx, newMail(fmt.Sprintf("m-%02d", i), at(time.Duration(i)*time.Millisecond))), "EnqueueMail")
	}
	claimed := make([][]*storage.Mail, workers)
	errs := race(workers, func(i int) error {
		var err error
		claimed[i], err = s.ClaimMail(ctx, at(time.Second), time.Minute, batch)
		return err
	})
	tally(t, "ClaimMail", errs)
	seen := map[string]int{}
	for _, c := range claimed {
		if len(c) > batch {
			t.Errorf("a worker claimed %d messages, more than its limit %d", len(c), batch)
		}
		for _, m := range c {
			seen[m.ID]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("mail %s claimed by %d workers", id, n)
		}
	}
	if len(seen) != mails {
		t.Errorf("%d messages claimed, want all %d", len(seen), mails)
	}
}

// testMailAtomically: a message enqueued in a failed Atomically is gone.
func testMailAtomically(t *testing.T, s storage.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.Atomically(ctx, func(tx storage.Store) error {
		mustOK(t, tx.EnqueueMail(ctx, newMail("m-rolled-back", at(0))), "EnqueueMail")
		return boom
	})
	wantErr(t, err, boom, "Atomically")
	assertStrings(t, "outbox after a rollback", nil, mailIDs(claimMail(t, s, at(time.Hour))))
}

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
