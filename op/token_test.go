package op

import (
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestChecklistT5VerifyPKCE covers checklist T5 (RFC 7636 §4.1, §4.6;
// RFC 9700 §4.8).
func TestChecklistT5VerifyPKCE(t *testing.T) {
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	for _, tc := range []struct {
		name, challenge, verifier string
		ok                        bool
	}{
		{"T5/match", challenge, verifier, true},
		{"T5/no-pkce-at-all", "", "", true},
		{"T5/missing-verifier", challenge, "", false},
		{"T5/wrong-verifier", challenge, oauth2.GenerateVerifier(), false},
		{"T5/42-chars", challenge, verifier[:42], false},
		{"T5/129-chars", challenge, strings.Repeat("a", 129), false},
		{"T5/plus-and-equals", challenge, strings.Repeat("a", 42) + "+=", false},
		{"T5/downgrade-verifier-without-challenge", "", verifier, false},
		{"T5/verifier-equals-challenge", challenge, challenge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyPKCE(tc.challenge, tc.verifier)
			if (err == nil) != tc.ok {
				t.Fatalf("verifyPKCE = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
