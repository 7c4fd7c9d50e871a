package password

import "testing"

// TestChecklistS13Blocklist checks the embedded blocklist itself: thousands
// of lower-case entries, including the short classics that only matter if
// MinLength is ever lowered for accounts with a second factor (8).
func TestChecklistS13Blocklist(t *testing.T) {
	set := blocklist()
	if len(set) < 5000 {
		t.Fatalf("blocklist has %d entries, want thousands", len(set))
	}
	for _, tc := range []struct{ name, pw string }{
		{"S13/blocklist-Password1!", "password1!"},
		{"S13/blocklist-123456789", "123456789"},
		{"S13/blocklist-qwertyuiop", "qwertyuiop"},
		{"S13/blocklist-iloveyou2024", "iloveyou2024"},
		{"S13/blocklist-correct-horse", "correct horse battery staple"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := set[tc.pw]; !ok {
				t.Fatalf("%q is not on the blocklist", tc.pw)
			}
		})
	}
	for pw := range set {
		if pw != toLowerASCII(pw) || len(pw) < 8 {
			t.Fatalf("entry %q is not lower case or shorter than 8", pw)
		}
	}
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestChecklistS12Internals lists the parts of checklist S12 proven inside
// the package: bounded concurrency (ASVS 15.2.2) and the dummy hash for
// unknown users (S11).
func TestChecklistS12Internals(t *testing.T) {
	t.Run("S12/concurrent-hashes-bounded", TestConcurrencyIsBounded)
	t.Run("S11/dummy-hash-uses-real-parameters", TestVerifyDummyUsesHasherParams)
}
