package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// throttlePolicy is the suite's policy: three free attempts, then locks of
// 1 s, 2 s, 4 s, … at most 8 s, in a one-hour window.
var throttlePolicy = storage.ThrottlePolicy{Window: time.Hour, Free: 3, Delay: time.Second, MaxDelay: 8 * time.Second}

// recordAttempt records one attempt and checks the outcome.
func recordAttempt(t *testing.T, s storage.Store, key string, now time.Time, wantAdmitted bool, wantFailures int, wantLockedUntil time.Time) *storage.LoginThrottle {
	t.Helper()
	got, admitted, err := s.RecordLoginFailure(t.Context(), key, now, throttlePolicy)
	mustOK(t, err, "RecordLoginFailure(%s)", key)
	if admitted != wantAdmitted || got.Failures != wantFailures || !got.LockedUntil.Equal(wantLockedUntil) || got.Key != key {
		t.Fatalf("RecordLoginFailure(%s) at %v = %+v admitted=%v; want failures %d, locked until %v, admitted=%v",
			key, now.Sub(t0), got, admitted, wantFailures, wantLockedUntil, wantAdmitted)
	}
	return got
}

// testLoginThrottleSchedule pins the rule of storage.ThrottlePolicy.Record:
// free attempts, a doubling lock capped at MaxDelay, refused attempts
// counted without extending the lock, and a successful sign-in clearing it.
func testLoginThrottleSchedule(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const key = "user:alice"
	if _, err := s.GetLoginThrottle(ctx, key); err == nil {
		t.Fatal("GetLoginThrottle of an unused key succeeded")
	} else {
		wantErr(t, err, storage.ErrNotFound, "GetLoginThrottle(unused)")
	}
	recordAttempt(t, s, key, at(0), true, 1, time.Time{})
	recordAttempt(t, s, key, at(0), true, 2, time.Time{})
	recordAttempt(t, s, key, at(0), true, 3, at(time.Second))                     // the Free-th attempt locks for Delay
	recordAttempt(t, s, key, at(500*time.Millisecond), false, 4, at(time.Second)) // refused, lock unchanged
	recordAttempt(t, s, key, at(time.Second), true, 5, at(time.Second+4*time.Second))
	recordAttempt(t, s, key, at(5*time.Second), true, 6, at(5*time.Second+8*time.Second))
	last := recordAttempt(t, s, key, at(13*time.Second), true, 7, at(13*time.Second+8*time.Second)) // capped at MaxDelay

	got, err := s.GetLoginThrottle(ctx, key)
	mustOK(t, err, "GetLoginThrottle")
	assertEqual(t, "stored throttle", last, got)
	if !got.WindowStart.Equal(at(0)) || !got.ExpiresAt.Equal(at(time.Hour)) {
		t.Errorf("window %v–%v, want t0 to t0+1h", got.WindowStart, got.ExpiresAt)
	}
	if !got.Locked(at(20*time.Second)) || got.Locked(at(21*time.Second)) {
		t.Errorf("Locked: want true until %v and false from then", got.LockedUntil)
	}

	mustOK(t, s.ClearLoginFailures(ctx, key), "ClearLoginFailures")
	_, err = s.GetLoginThrottle(ctx, key)
	wantErr(t, err, storage.ErrNotFound, "GetLoginThrottle after ClearLoginFailures")
	mustOK(t, s.ClearLoginFailures(ctx, key), "ClearLoginFailures of an absent key")
	recordAttempt(t, s, key, at(14*time.Second), true, 1, time.Time{})
}

// testLoginThrottleWindow: a counter starts over once its window has
// passed, but never while it is locked; keys are independent; expired
// counters are cleaned up.
func testLoginThrottleWindow(t *testing.T, s storage.Store) {
	ctx := t.Context()
	recordAttempt(t, s, "ip:192.0.2.1", at(0), true, 1, time.Time{})
	recordAttempt(t, s, "ip:192.0.2.1", at(30*time.Minute), true, 2, time.Time{})
	got := recordAttempt(t, s, "ip:192.0.2.1", at(time.Hour), true, 1, time.Time{}) // window over: starts again
	if !got.WindowStart.Equal(at(time.Hour)) {
		t.Errorf("WindowStart = %v, want the new window's start", got.WindowStart)
	}
	// A lock that outlives the window keeps the counter alive.
	long := storage.ThrottlePolicy{Window: time.Second, Free: 1, Delay: time.Minute, MaxDelay: time.Minute}
	l, admitted, err := s.RecordLoginFailure(ctx, "ip:198.51.100.7", at(0), long)
	mustOK(t, err, "RecordLoginFailure")
	if !admitted || !l.ExpiresAt.Equal(at(time.Minute)) {
		t.Fatalf("got %+v admitted=%v, want ExpiresAt = LockedUntil = t0+1m", l, admitted)
	}
	l, admitted, err = s.RecordLoginFailure(ctx, "ip:198.51.100.7", at(30*time.Second), long)
	mustOK(t, err, "RecordLoginFailure")
	if admitted || l.Failures != 2 {
		t.Fatalf("past the window but locked: got %+v admitted=%v, want refused with 2 failures", l, admitted)
	}
	recordAttempt(t, s, "user:bob", at(0), true, 1, time.Time{})

	n, err := s.DeleteExpiredLoginThrottles(ctx, at(time.Hour+time.Minute), 100)
	mustOK(t, err, "DeleteExpiredLoginThrottles")
	if n != 2 { // user:bob (expired at t0+1h) and ip:198.51.100.7 (t0+1m)
		t.Errorf("DeleteExpiredLoginThrottles removed %d, want 2", n)
	}
	if _, err := s.GetLoginThrottle(ctx, "ip:192.0.2.1"); err != nil {
		t.Errorf("live counter removed: %v", err)
	}
	_, err = s.GetLoginThrottle(ctx, "user:bob")
	wantErr(t, err, storage.ErrNotFound, "GetLoginThrottle(expired)")
}

// testConcurrentLoginFailures is checklist S10/R6 (CVE-2023-47111): 50
// parallel attempts on one key are counted exactly 50 times and exactly
// Free of them are admitted to a password check.
func testConcurrentLoginFailures(t *testing.T, s storage.Store) {
	const n = 50
	policy := storage.ThrottlePolicy{Window: time.Hour, Free: 5, Delay: time.Minute, MaxDelay: time.Minute}
	admitted := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		_, admitted[i], err = s.RecordLoginFailure(t.Context(), "user:alice", at(0), policy)
		return err
	})
	if ok, _ := tally(t, "RecordLoginFailure", errs); ok != n {
		t.Fatalf("%d of %d concurrent RecordLoginFailure calls succeeded", ok, n)
	}
	in := 0
	for _, a := range admitted {
		if a {
			in++
		}
	}
	got, err := s.GetLoginThrottle(t.Context(), "user:alice")
	mustOK(t, err, "GetLoginThrottle")
	if got.Failures != n || in != policy.Free {
		t.Fatalf("%d concurrent attempts: counter %d with %d admitted; want %d with %d", n, got.Failures, in, n, policy.Free)
	}
}

// testConcurrentLoginFailuresAndClears: attempts on a key while
// successful sign-ins clear it (as every sign-in clears the account
// counters) always succeed: a counter deleted between "make sure it
// exists" and "lock it" must not fail an attempt.
func testConcurrentLoginFailuresAndClears(t *testing.T, s storage.Store) {
	const n = 60
	policy := storage.ThrottlePolicy{Window: time.Hour, Free: n, Delay: time.Minute, MaxDelay: time.Minute}
	errs := race(n, func(i int) error {
		if i%2 == 0 {
			return s.ClearLoginFailures(t.Context(), "user:alice")
		}
		_, admitted, err := s.RecordLoginFailure(t.Context(), "user:alice", at(0), policy)
		if err == nil && !admitted {
			return fmt.Errorf("attempt %d refused under a policy that admits %d", i, n)
		}
		return err
	})
	if ok, _ := tally(t, "RecordLoginFailure/ClearLoginFailures", errs); ok != n {
		t.Fatalf("%d of %d concurrent calls succeeded", ok, n)
	}
}
