package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodePHC feeds arbitrary strings to the PHC parser that runs on
// every stored hash before Verify spends any work (checklist B13, S12).
// Properties: no panic; anything accepted is a canonical argon2id string
// (encode gives it back byte for byte) with parameters inside the limits,
// so a hostile row can neither be read two ways nor ask for unbounded
// memory. Seeds: testdata/fuzz/FuzzDecodePHC.
func FuzzDecodePHC(f *testing.F) {
	h := NewHasher(Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	phc, err := h.Hash("seed password")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(phc)
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("decode(%q) = %v, not ErrInvalidHash", s, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decode(%q) accepted parameters outside the limits: %v", s, err)
		}
		if got := encode(p, salt, key); got != s {
			t.Fatalf("decode(%q) is not canonical: encodes back as %q", s, got)
		}
	})
}

// FuzzCheckPolicy checks the password policy on arbitrary input (checklist
// S13, B13): no panic, and whatever it accepts is valid UTF-8 of at least
// MinLength code points and at most MaxLength bytes, and not on the
// blocklist in any letter case. Seeds: testdata/fuzz/FuzzCheckPolicy.
func FuzzCheckPolicy(f *testing.F) {
	f.Add("correct horse battery staple", "alice")
	f.Fuzz(func(t *testing.T, pw, username string) {
		if CheckPolicy(pw, username, "monban") != nil {
			return
		}
		if !utf8.ValidString(pw) || utf8.RuneCountInString(pw) < MinLength || len(pw) > MaxLength {
			t.Fatalf("accepted %q", pw)
		}
		if _, ok := blocklist()[strings.ToLower(pw)]; ok {
			t.Fatalf("accepted blocklisted %q", pw)
		}
	})
}
