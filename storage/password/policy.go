package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:generate go run gen_blocklist.go

// MinLength is the shortest password CheckPolicy accepts, in Unicode code
// points. NIST SP 800-63B-4 §3.1.1.2 requires at least 15 when the password
// is the only authentication factor (8 with a second factor), and ASVS 6.2.1
// strongly recommends 15. monban signs people in with a password alone, so
// 15 it is (checklist S13: a 14-character password is refused).
const MinLength = 15

var (
	// ErrPasswordTooShort means the password has fewer than MinLength
	// code points (checklist S13).
	ErrPasswordTooShort = errors.New("password is too short")
	// ErrPasswordGuessable means the password is on the blocklist of
	// common passwords, is a repeated or sequential pattern, or is built
	// from the username or the service name (checklist S13; NIST SP
	// 800-63B-4 §3.1.1.2).
	ErrPasswordGuessable = errors.New("password is too easy to guess")
	// ErrPasswordNotUTF8 means the password is not valid UTF-8 text
	// (checklist S13, B4).
	ErrPasswordNotUTF8 = errors.New("password is not valid UTF-8")
)

//go:embed common-passwords.txt
var commonPasswordsFile string

// blocklist is the embedded list as a set, built on first use.
var blocklist = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 9000)
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})

// CheckPolicy reports whether pw may become a user's password (checklist
// S13; NIST SP 800-63B-4 §3.1.1.2; ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.9, 6.2.11).
// It accepts any valid UTF-8 text of MinLength to MaxLength (1024 bytes)
// that is not guessable: not on the embedded list of common passwords
// (compared case-insensitively), not one character repeated, a short unit
// repeated or a run such as "abcdef…" or "123456…", and not made of the
// context words (the username, the service's name) plus such a pattern.
// There are no composition rules (NIST SHALL NOT), spaces and emoji are
// welcome, and nothing is trimmed, normalised or case-folded before hashing.
// The error is a *PolicyError wrapping one of the Err* values; it says
// why in plain words.
func CheckPolicy(pw string, context ...string) error {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return &PolicyError{Code: "policy.password.not_utf8", err: ErrPasswordNotUTF8}
	case len(pw) > MaxLength:
		return &PolicyError{Code: "policy.password.too_long", Args: map[string]any{"Max": MaxLength},
			err: fmt.Errorf("%w: at most %d bytes", ErrPasswordTooLong, MaxLength)}
	case n < MinLength:
		return &PolicyError{Code: "policy.password.too_short", Args: map[string]any{"Length": n, "Min": MinLength},
			err: fmt.Errorf("%w: it has %d characters, at least %d are required (a few words make a good one)",
				ErrPasswordTooShort, n, MinLength)}
	}
	lower := strings.ToLower(pw)
	if _, ok := blocklist()[lower]; ok {
		return &PolicyError{Code: "policy.password.common",
			err: fmt.Errorf("%w: it is on the list of commonly used passwords", ErrPasswordGuessable)}
	}
	if trivial(lower) {
		return &PolicyError{Code: "policy.password.pattern",
			err: fmt.Errorf("%w: it is a repeated or sequential pattern", ErrPasswordGuessable)}
	}
	rest := lower
	for _, w := range context {
		if w = strings.ToLower(w); utf8.RuneCountInString(w) >= 3 {
			rest = strings.ReplaceAll(rest, w, "")
		}
	}
	if rest != lower && trivial(rest) {
		return &PolicyError{Code: "policy.password.context",
			err: fmt.Errorf("%w: it is based on the username or the service's name", ErrPasswordGuessable)}
	}
	return nil
}

// PolicyError is the error CheckPolicy returns: the broken rule as a
// stable catalog key (Code, such as "policy.password.too_short") with the
// values its text needs (Args), so a page can say it in the reader's
// language. Error is the English sentence; Unwrap gives the Err* value.
type PolicyError struct {
	Code string
	Args map[string]any
	err  error
}

// Error returns the English explanation.
func (e *PolicyError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped Err* value.
func (e *PolicyError) Unwrap() error { return e.err }

// trivial reports whether s is empty, a unit of at most four code points
// repeated (aaaa…, abab…, 1231…), or a run whose code points go up or down
// by one each time (abcd…, 4321…, with 9→0 and 0→9 wrapping for digits).
func trivial(s string) bool {
	r := []rune(s)
	if len(r) == 0 {
		return true
	}
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		repeated := true
		for i := unit; i < len(r); i++ {
			if r[i] != r[i-unit] {
				repeated = false
				break
			}
		}
		if repeated {
			return true
		}
	}
	for _, dir := range []rune{1, -1} {
		run := true
		for i := 1; i < len(r); i++ {
			if !next(r[i-1], r[i], dir) {
				run = false
				break
			}
		}
		if run && len(r) > 1 {
			return true
		}
	}
	return false
}

// next reports whether b follows a in direction dir, digits wrapping.
func next(a, b, dir rune) bool {
	if a >= '0' && a <= '9' && b >= '0' && b <= '9' {
		return (a-'0'+10+dir)%10 == b-'0'
	}
	return b == a+dir
}
