package storage

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"
)

func TestNewOrderedID(t *testing.T) {
	before := time.Now().UnixMilli()
	a := NewOrderedID()
	time.Sleep(2 * time.Millisecond)
	b := NewOrderedID()
	after := time.Now().UnixMilli()
	for _, id := range []string{a, b} {
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw) != 16 {
			t.Fatalf("NewOrderedID() = %q: want 32 hex characters", id)
		}
		var ms int64
		for _, c := range raw[:6] {
			ms = ms<<8 | int64(c)
		}
		if ms < before || ms > after {
			t.Errorf("NewOrderedID() = %q: time %d outside [%d, %d]", id, ms, before, after)
		}
	}
	// Made a millisecond or more apart, IDs sort by time, as text too
	// (PostgreSQL's C collation and Go's string order).
	if !(a < b) {
		t.Errorf("%q made before %q sorts after it", a, b)
	}
	// The random part differs within the same millisecond.
	seen := map[string]bool{}
	for range 1000 {
		id := NewOrderedID()
		if seen[id] {
			t.Fatalf("NewOrderedID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestTokenKey(t *testing.T) {
	ordered := NewOrderedToken()
	legacy := NewToken()
	raw, err := base64.RawURLEncoding.DecodeString(ordered)
	if err != nil || len(ordered) != 44 || len(raw) != 33 || raw[0] != orderedTokenFormat {
		t.Fatalf("NewOrderedToken() = %q: want 44 base64url characters of 33 bytes, format byte first", ordered)
	}
	otherFormat := append([]byte{2}, raw[1:]...)
	changed := ordered[:43] + "A"
	if changed == ordered {
		changed = ordered[:43] + "B"
	}
	tests := []struct {
		name, token, want string
	}{
		{"ordered token: its time, then its hash", ordered, hex.EncodeToString(raw[1:7]) + HashToken(ordered)},
		{"token of NewToken (issued before ordered ones)", legacy, HashToken(legacy)},
		{"44 characters of another format byte", base64.RawURLEncoding.EncodeToString(otherFormat), HashToken(base64.RawURLEncoding.EncodeToString(otherFormat))},
		{"ordered token with a line break inside", ordered[:20] + "\n" + ordered[21:], HashToken(ordered[:20] + "\n" + ordered[21:])},
		{"ordered token, one character changed", changed, "?"},
		{"not base64url", "A" + string(make([]byte, 43)), HashToken("A" + string(make([]byte, 43)))},
		{"empty", "", HashToken("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TokenKey(tc.token)
			if tc.want == "?" { // any key, but never the original token's
				if got == TokenKey(ordered) {
					t.Errorf("TokenKey(%q) = the key of %q", tc.token, ordered)
				}
				return
			}
			if got != tc.want {
				t.Errorf("TokenKey(%q) = %q, want %q", tc.token, got, tc.want)
			}
		})
	}
	// Keys of tokens made a millisecond or more apart sort by time.
	a := TokenKey(NewOrderedToken())
	time.Sleep(2 * time.Millisecond)
	if b := TokenKey(NewOrderedToken()); !(a < b) {
		t.Errorf("key %q of an earlier token sorts after %q", a, b)
	}
}
