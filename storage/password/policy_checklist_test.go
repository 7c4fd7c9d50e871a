package password_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage/password"
)

// TestChecklistS13PasswordPolicy covers checklist S13 (NIST SP 800-63B-4
// §3.1.1.2; ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.9, 6.2.11).
func TestChecklistS13PasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		context  []string
		want     error // nil: accepted
	}{
		{"S13/14-chars-rejected", "abcdefgh jklmn", nil, password.ErrPasswordTooShort},
		{"S13/15-chars-accepted", "lantern orbit 7", nil, nil},
		{"S13/length-counts-code-points-not-bytes", "ééééé ééééé é", nil, password.ErrPasswordTooShort},
		{"S13/Password1!-rejected", "Password1!", nil, password.ErrPasswordTooShort}, // and blocklisted: see the internal test
		{"S13/blocklisted-long", "correcthorsebatterystaple", nil, password.ErrPasswordGuessable},
		{"S13/blocklist-case-insensitive", "CorrectHorseBatteryStaple", nil, password.ErrPasswordGuessable},
		{"S13/blocklisted-passphrase-with-spaces", "Correct Horse Battery Staple", nil, password.ErrPasswordGuessable},
		{"S13/blocklisted-word-doubled", "iloveyouiloveyou", nil, password.ErrPasswordGuessable},
		{"S13/blocklisted-keyboard-walk", "1qaz2wsx3edc4rfv", nil, password.ErrPasswordGuessable},
		{"S13/repeated-character", strings.Repeat("a", 20), nil, password.ErrPasswordGuessable},
		{"S13/repeated-unit", strings.Repeat("xyz!", 5), nil, password.ErrPasswordGuessable},
		{"S13/sequential-letters", "abcdefghijklmnopq", nil, password.ErrPasswordGuessable},
		{"S13/sequential-digits-wrapping", "1234567890123456", nil, password.ErrPasswordGuessable},
		{"S13/descending-digits", "9876543210987654", nil, password.ErrPasswordGuessable},
		{"S13/username-plus-digits", "Alice1234567890", []string{"alice", "monban"}, password.ErrPasswordGuessable},
		{"S13/service-name-repeated", "monbanmonbanmonban", []string{"bob", "monban"}, password.ErrPasswordGuessable},
		{"S13/username-inside-a-passphrase-ok", "alice likes long green walks", []string{"alice"}, nil},
		{"S13/no-composition-rules-lowercase-only", "purple elephants dance", nil, nil},
		{"S13/64-chars-accepted", strings.Repeat("pass phrase long ", 4)[:64], nil, nil},
		{"S13/unicode-and-emoji-accepted", "пароль-для-входа 🔑🌵", nil, nil},
		{"S13/1024-bytes-accepted", text(1024), nil, nil},
		{"S13/1025-bytes-rejected", text(1025), nil, password.ErrPasswordTooLong},
		{"S13/invalid-utf8-rejected", "valid start then \xff bad", nil, password.ErrPasswordNotUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := password.CheckPolicy(tc.pw, tc.context...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckPolicy(%q) = %v, want accepted", tc.pw, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("CheckPolicy(%q) = %v, want %v", tc.pw, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want.Error()) || err.Error() == tc.want.Error() && tc.want != password.ErrPasswordNotUTF8 {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
	t.Run("S13/accepted-passphrases-verify-exactly", func(t *testing.T) {
		// No truncation, trimming or case folding between policy and hash.
		h := password.NewHasher(password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
		for _, pw := range []string{strings.Repeat("pass phrase long ", 4)[:64], "пароль-для-входа 🔑🌵", " leading and trailing space "} {
			if err := password.CheckPolicy(pw); err != nil {
				t.Fatalf("CheckPolicy(%q): %v", pw, err)
			}
			phc, err := h.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			for _, other := range []string{pw, strings.ToUpper(pw), strings.TrimSpace(pw), pw[:len(pw)-1]} {
				ok, _, err := h.Verify(other, phc)
				if err != nil || ok != (other == pw) {
					t.Errorf("Verify(%q) against the hash of %q = %v, %v", other, pw, ok, err)
				}
			}
		}
	})
}

// text returns n bytes of varied, non-repeating ASCII text.
func text(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString("word" + strconv.Itoa(i) + " ")
	}
	return b.String()[:n]
}

// TestChecklistS12Hashing lists checklist S12 (OWASP Password Storage
// Cheat Sheet; ASVS 11.4.2, 6.2.8), proven by the hashing tests.
func TestChecklistS12Hashing(t *testing.T) {
	for _, tc := range []struct {
		id string
		fn func(*testing.T)
	}{
		{"S12/argon2id-owasp-parameters-phc-string", TestDefaultParams},
		{"S12/weaker-parameters-need-rehash", TestNeedsRehash},
		{"S12/over-1024-bytes-refused-not-truncated", TestPasswordTooLong},
		{"S12/round-trip-exact", TestHashVerifyRoundTrip},
	} {
		t.Run(tc.id, tc.fn)
	}
}
