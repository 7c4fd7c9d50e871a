package storage

import (
	"context"
	"errors"
	"time"
)

// LoginThrottles keeps the counters that slow down password guessing
// (security checklist S10; NIST SP 800-63B-4 §3.2.2; ASVS 6.3.1). A counter
// is named by a key chosen by the caller, such as "ip:192.0.2.1" or
// "user:alice". Counters live in the store, not in a replica's memory, so
// every replica sees the same count and a restart does not reset a lock
// (checklist R11).
type LoginThrottles interface {
	// RecordLoginFailure counts one sign-in attempt against key at now under
	// policy, in one atomic step, and reports whether the attempt may go on
	// to a password check (admitted). The attempt is counted before the
	// password is checked, so N concurrent attempts are counted exactly N
	// times and at most policy.Free of them are admitted before the first
	// lock (checklist S10, CVE-2023-47111). Refused attempts are counted
	// too, but never move LockedUntil. See ThrottlePolicy.Record for the
	// exact rule, which every backend applies.
	RecordLoginFailure(ctx context.Context, key string, now time.Time, policy ThrottlePolicy) (t *LoginThrottle, admitted bool, err error)
	// GetLoginThrottle returns the counter for key, or ErrNotFound.
	GetLoginThrottle(ctx context.Context, key string) (*LoginThrottle, error)
	// ClearLoginFailures removes the counter for key (after a successful
	// sign-in). Clearing an absent counter is not an error.
	ClearLoginFailures(ctx context.Context, key string) error
}

// LoginThrottle is the state of one sign-in counter (checklist S10).
type LoginThrottle struct {
	Key string
	// Failures counts the attempts since WindowStart, refused ones
	// included; a successful sign-in clears the counter.
	Failures    int
	WindowStart time.Time // the first attempt of the current window
	// LockedUntil is when attempts are admitted again; zero if the counter
	// has not been locked in this window.
	LockedUntil time.Time
	// ExpiresAt is when the counter starts over: the later of the window's
	// end and LockedUntil.
	ExpiresAt time.Time
}

// Locked reports whether attempts at now are refused (checklist S10).
func (t *LoginThrottle) Locked(now time.Time) bool { return now.Before(t.LockedUntil) }

// ThrottlePolicy turns counted sign-in attempts into temporary locks
// (checklist S10). The first Free attempts of a window are admitted; the
// Free-th admitted attempt locks the counter for Delay, and every further
// admitted attempt for twice as long as the one before, at most MaxDelay.
// Attempts while locked are refused and counted but do not extend the lock,
// so a lock always ends at most MaxDelay after the last admitted attempt:
// nobody can lock a counter for good. Delay == MaxDelay gives a fixed-rate
// limit ("Free attempts per Window").
type ThrottlePolicy struct {
	Window   time.Duration // counting starts over once this long has passed since WindowStart (and no lock is active)
	Free     int           // attempts admitted before the first lock
	Delay    time.Duration // the first lock
	MaxDelay time.Duration // the longest lock
}

// Validate reports whether every field is positive and Delay ≤ MaxDelay,
// so that every lock is finite (checklist S10: no permanent lockout).
func (p ThrottlePolicy) Validate() error {
	if p.Window <= 0 || p.Free < 1 || p.Delay <= 0 || p.MaxDelay < p.Delay {
		return errors.New("storage: throttle policy needs Window > 0, Free ≥ 1 and 0 < Delay ≤ MaxDelay")
	}
	return nil
}

// LockFor returns how long the admitted attempt number failures (counted
// from 1) locks the counter: nothing before Free, then Delay doubled for
// each attempt beyond Free, at most MaxDelay.
func (p ThrottlePolicy) LockFor(failures int) time.Duration {
	if failures < p.Free {
		return 0
	}
	d := p.Delay
	for i := p.Free; i < failures && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Record applies one attempt at now to t (the zero value for a counter that
// does not exist yet) and returns the new state and whether the attempt is
// admitted. It is the rule every backend applies inside its atomic step:
//   - a counter past its ExpiresAt starts over at now;
//   - the attempt is admitted unless now is before LockedUntil;
//   - Failures grows by one either way;
//   - an admitted attempt that brings Failures to Free or more sets
//     LockedUntil to now + LockFor(Failures).
//
// Times are stored in UTC at microsecond precision, as PostgreSQL keeps them.
func (p ThrottlePolicy) Record(t LoginThrottle, now time.Time) (LoginThrottle, bool) {
	now = now.UTC().Truncate(time.Microsecond)
	if t.Failures == 0 || !now.Before(t.ExpiresAt) {
		t = LoginThrottle{Key: t.Key, WindowStart: now}
	}
	admitted := !t.Locked(now)
	t.Failures++
	if admitted && t.Failures >= p.Free {
		t.LockedUntil = now.Add(p.LockFor(t.Failures))
	}
	t.ExpiresAt = t.WindowStart.Add(p.Window)
	if t.LockedUntil.After(t.ExpiresAt) {
		t.ExpiresAt = t.LockedUntil
	}
	return t, admitted
}
