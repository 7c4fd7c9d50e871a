package migrations_test

import "testing"

// TestChecklistMigrations lists checklist R9 (idempotent, multi-replica
// safe, refuses a newer schema), proven by the tests below.
func TestChecklistMigrations(t *testing.T) {
	for _, tc := range []struct {
		id string
		fn func(*testing.T)
	}{
		{"R9/second-run-is-a-no-op", TestUpTwice},
		{"R9/concurrent-replicas-apply-once", TestUpConcurrently},
		{"R9/newer-schema-refused", TestUpRefusesNewerDatabase},
		{"R9/forward-only-one-transaction-each", TestFilesFollowTheRules},
	} {
		t.Run(tc.id, tc.fn)
	}
}
