package app

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/web"
)

// Self-registration needs mail: the account is created from a mailed link.
func TestRegistrationNeedsMail(t *testing.T) {
	tests := []struct {
		name    string
		reg     web.RegistrationConfig
		mail    MailConfig
		wantErr bool
	}{
		{"off by default", web.RegistrationConfig{}, MailConfig{}, false},
		{"off", web.RegistrationConfig{Mode: web.RegistrationOff}, MailConfig{}, false},
		{"open without mail", web.RegistrationConfig{Mode: web.RegistrationOpen}, MailConfig{}, true},
		{"open in dev", web.RegistrationConfig{Mode: web.RegistrationOpen}, MailConfig{Dev: true}, false},
		{"open with smtp", web.RegistrationConfig{Mode: web.RegistrationOpen},
			MailConfig{SMTPURL: "smtp://mail.example:587", From: "id@example.com"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			c.Issuer, c.Registration, c.Mail = "https://id.example", tc.reg, tc.mail
			err := c.Validate(false)
			got := err != nil && strings.Contains(err.Error(), "registration")
			if got != tc.wantErr {
				t.Fatalf("Validate = %v, want a registration error: %v", err, tc.wantErr)
			}
		})
	}
}
