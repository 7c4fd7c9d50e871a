package acr

import (
	"slices"
	"testing"
)

func TestOfAndMeets(t *testing.T) {
	tests := []struct {
		name  string
		amr   []string
		class string
		meets map[string]bool
	}{
		{"nothing", nil, "", map[string]bool{"": true, Password: false, MFA: false}},
		{"password", []string{"pwd"}, Password, map[string]bool{Password: true, MFA: false, PhishingResistant: false}},
		{"password and otp", []string{"pwd", "otp"}, MFA, map[string]bool{Password: true, MFA: true, PhishingResistant: false}},
		{"otp alone", []string{"otp"}, Password, map[string]bool{MFA: false}},
		{"passkey", []string{"hwk", "user", "mfa"}, PhishingResistant, map[string]bool{MFA: true, PhishingResistant: true}},
		{"unknown class", []string{"pwd", "otp"}, MFA, map[string]bool{"urn:other": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.amr); got != tc.class {
				t.Errorf("Of(%v) = %q, want %q", tc.amr, got, tc.class)
			}
			for class, want := range tc.meets {
				if got := Meets(tc.amr, class); got != want {
					t.Errorf("Meets(%v, %q) = %v, want %v", tc.amr, class, got, want)
				}
			}
		})
	}
}

func TestNeeded(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"unknown only", []string{"urn:other", "0"}, ""},
		{"mfa", []string{MFA}, MFA},
		{"weakest acceptable wins", []string{PhishingResistant, Password}, Password},
		{"unknown ignored", []string{"x", MFA}, MFA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Needed(tc.values); got != tc.want {
				t.Errorf("Needed(%v) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestWithMultiAndStronger(t *testing.T) {
	if got := WithMulti([]string{"pwd", "otp"}); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("WithMulti = %v", got)
	}
	if got := WithMulti([]string{"pwd"}); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("WithMulti(pwd) = %v", got)
	}
	if Stronger("", MFA) != MFA || Stronger(PhishingResistant, MFA) != PhishingResistant || Stronger(Password, "") != Password {
		t.Error("Stronger orders the classes wrongly")
	}
}
