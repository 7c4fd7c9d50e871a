package op

import (
	"regexp"
	"strings"
	"testing"
)

// TestCharRunMatchesTheRegexps: the PKCE shape checks accept exactly what
// the regular expressions of RFC 7636 §4.1 and §4.2 they replaced accept.
func TestCharRunMatchesTheRegexps(t *testing.T) {
	verifierRE := regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	challengeRE := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	a43 := strings.Repeat("a", 43)
	for _, tc := range []struct{ name, s string }{
		{"empty", ""},
		{"42 characters", a43[:42]},
		{"43 letters", a43},
		{"44 letters", a43 + "b"},
		{"128 characters", strings.Repeat("Z9", 64)},
		{"129 characters", strings.Repeat("Z9", 64) + "x"},
		{"RFC 7636 appendix B verifier", "dBjftJeZ4CVP-mJ0kFkfWq5JoGmn2v2kPMkYWK4RD5E"},
		{"RFC 7636 appendix B challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		{"unreserved punctuation", a43[:39] + "._~-"},
		{"padding", a43[:42] + "="},
		{"plus and slash", a43[:41] + "+/"},
		{"space", a43[:42] + " "},
		{"NUL", a43[:42] + "\x00"},
		{"newline at the end", a43 + "\n"},
		{"non-ASCII", a43[:41] + "é"},
		{"invalid UTF-8", a43[:42] + "\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := codeVerifier.MatchString(tc.s), verifierRE.MatchString(tc.s); got != want {
				t.Errorf("codeVerifier(%q) = %v, the regexp says %v", tc.s, got, want)
			}
			if got, want := s256Challenge.MatchString(tc.s), challengeRE.MatchString(tc.s); got != want {
				t.Errorf("s256Challenge(%q) = %v, the regexp says %v", tc.s, got, want)
			}
		})
	}
}

// BenchmarkCodeVerifierShape: the check every code exchange runs, against
// the regular expression it replaced.
func BenchmarkCodeVerifierShape(b *testing.B) {
	v := "dBjftJeZ4CVP-mJ0kFkfWq5JoGmn2v2kPMkYWK4RD5E"
	re := regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	b.Run("charRun", func(b *testing.B) {
		for b.Loop() {
			if !codeVerifier.MatchString(v) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			if !re.MatchString(v) {
				b.Fatal("no match")
			}
		}
	})
}
