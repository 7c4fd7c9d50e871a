package storagetest

import (
	"testing"

	"github.com/monban-idp/monban/storage"
)

// Checklist runs the conformance cases that prove security checklist items
// at the storage level, named by checklist id, so that
// `go test -run Checklist` lists them for every backend. They are the same
// cases Run runs.
func Checklist(t *testing.T, newStore func(t *testing.T) storage.Store) {
	for _, tc := range []struct {
		id string
		fn func(t *testing.T, s storage.Store)
	}{
		{"T1/code-consumed-at-most-once-replay-names-family", testAuthCodeSingleUse},
		{"T1/code-tombstone-expires-with-code", testExpiredAuthRequestCleanup},
		{"T4/expired-code-refused", testAuthCodeExpiry},
		{"T9/refresh-reuse-revokes-family", testRefreshReuseRevokesFamily},
		{"R4/concurrent-code-consumers-one-winner", testConcurrentCodeConsume},
		{"R5/concurrent-refresh-rotations-one-winner", testConcurrentRefreshRotate},
		{"R6/50-parallel-login-failures-counted-exactly", testConcurrentLoginFailures},
		{"S10/throttle-schedule-and-expiry", testLoginThrottleSchedule},
		{"S10/throttle-window-and-cleanup", testLoginThrottleWindow},
	} {
		t.Run(tc.id, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}
