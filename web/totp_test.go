package web

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestMatchTOTP(t *testing.T) {
	key, err := newTOTPKey("id.example", "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0) // a step boundary: 1.8e9 / 30 is whole
	step := now.Unix() / totpPeriod
	code := func(d time.Duration) string {
		c, err := totp.GenerateCodeCustom(key.Secret(), now.Add(d), totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		code     string
		last     int64
		wantStep int64
		wantOK   bool
	}{
		{"current step", code(0), 0, step, true},
		{"previous step (skew)", code(-30 * time.Second), 0, step - 1, true},
		{"next step (skew)", code(30 * time.Second), 0, step + 1, true},
		{"two steps old", code(-60 * time.Second), 0, 0, false},
		{"two steps ahead", code(60 * time.Second), 0, 0, false},
		{"current step already used", code(0), step, 0, false},
		{"next step after the current was used", code(30 * time.Second), step, step + 1, true},
		{"spaces around", " " + code(0) + " ", 0, step, true},
		{"wrong length", "12345", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := matchTOTP(key.Secret(), tc.code, now, tc.last)
			if ok != tc.wantOK || got != tc.wantStep {
				t.Errorf("matchTOTP = %d, %v; want %d, %v", got, ok, tc.wantStep, tc.wantOK)
			}
		})
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := newRecoveryCodes()
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if seen[c] || !looksLikeRecoveryCode(c) || recoveryHash(c) != hashes[i] {
			t.Errorf("code %q: duplicate, wrong shape or hash", c)
		}
		seen[c] = true
	}
	tests := []struct {
		name, typed string
		same        bool
	}{
		{"upper case", "ABCD-EFGH-IJKL-MNOP", true},
		{"spaces for dashes", "abcd efgh ijkl mnop", true},
		{"no separators", "abcdefghijklmnop", true},
		{"another code", "abcd-efgh-ijkl-mnoq", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := recoveryHash(tc.typed) == recoveryHash("abcd-efgh-ijkl-mnop"); got != tc.same {
				t.Errorf("same hash = %v, want %v", got, tc.same)
			}
		})
	}
	if looksLikeRecoveryCode("123456") {
		t.Error("a TOTP code looks like a recovery code")
	}
}
