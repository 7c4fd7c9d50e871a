package op

import "testing"

// TestChecklistKeys lists the checklist items the signing-key tests already
// prove (J6 JWKS content, J7 rotation keeps old and new keys, R10 replicas),
// so `go test -run Checklist` shows them. Each entry runs the named test.
func TestChecklistKeys(t *testing.T) {
	for _, tc := range []struct {
		id string
		fn func(*testing.T)
	}{
		{"J6/jwks-public-only-unique-kid", TestJWKSContent},
		{"J7/rotation-keeps-old-and-prepublishes-new", TestRotationKeepsOldTokensAndPrePublishesNewKey},
		{"J7+R10/replicas-rotate-at-once", TestRotationReplicasAtOnce},
		{"R10/missing-secret-refused", TestEnsureRefusesWrongSecret},
	} {
		t.Run(tc.id, tc.fn)
	}
}
