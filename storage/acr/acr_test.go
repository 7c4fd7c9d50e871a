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

func TestWithMulti(t *testing.T) {
	tests := []struct {
		name string
		amr  []string
		want []string
	}{
		{"nothing", nil, nil},
		{"password", []string{"pwd"}, []string{"pwd"}},
		{"password and otp", []string{"pwd", "otp"}, []string{"pwd", "otp", "mfa"}},
		{"password and hardware key", []string{"pwd", "hwk"}, []string{"pwd", "hwk", "mfa"}},
		{"password and software key", []string{"pwd", "swk"}, []string{"pwd", "swk", "mfa"}},
		{"passkey with user verification", []string{"swk", "user"}, []string{"swk", "user", "mfa"}},
		{"hardware key with user verification", []string{"hwk", "user"}, []string{"hwk", "user", "mfa"}},
		{"hardware key with pin", []string{"hwk", "pin"}, []string{"hwk", "pin", "mfa"}},
		{"passkey without user verification", []string{"swk"}, []string{"swk"}},
		{"otp and passkey are both possession", []string{"otp", "hwk"}, []string{"otp", "hwk"}},
		{"user verification without a key", []string{"otp", "user"}, []string{"otp", "user"}},
		{"otp alone", []string{"otp"}, []string{"otp"}},
		{"already mfa", []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.amr)
			got := WithMulti(tc.amr)
			if !slices.Equal(got, tc.want) {
				t.Errorf("WithMulti(%v) = %v, want %v", tc.amr, got, tc.want)
			}
			if !slices.Equal(tc.amr, in) {
				t.Errorf("WithMulti changed its argument to %v", tc.amr)
			}
		})
	}
}

func TestStronger(t *testing.T) {
	if Stronger("", MFA) != MFA || Stronger(PhishingResistant, MFA) != PhishingResistant || Stronger(Password, "") != Password {
		t.Error("Stronger orders the classes wrongly")
	}
}
