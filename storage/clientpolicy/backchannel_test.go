package clientpolicy_test

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage/clientpolicy"
)

// TestChecklistL6BackchannelRegistration: unless private networks are
// allowed, a back-channel logout URI that no delivery could ever reach (a
// loopback name, or an IP literal in a special-purpose range) is refused
// when the client is registered, under its own field, instead of being
// accepted and then refused at every delivery (issue #13 item 8). Names
// are left to connect time; with the setting on, loopback is accepted.
func TestChecklistL6BackchannelRegistration(t *testing.T) {
	for _, tc := range []struct {
		name, uri    string
		allowPrivate bool
		refused      bool
	}{
		{"L6/registration/localhost", "http://localhost:9000/bcl", false, true},
		{"L6/registration/loopback-v4", "http://127.0.0.1:9000/bcl", false, true},
		{"L6/registration/loopback-v6", "http://[::1]:9000/bcl", false, true},
		{"L6/registration/private-10", "https://10.0.0.5/bcl", false, true},
		{"L6/registration/metadata", "https://169.254.169.254/latest", false, true},
		{"L6/registration/benchmarking", "https://198.18.0.1/bcl", false, true},
		{"L6/registration/ietf-assignments", "https://192.0.0.1/bcl", false, true},
		{"L6/registration/reserved-240", "https://240.0.0.1/bcl", false, true},
		{"L6/registration/nat64-of-private", "https://[64:ff9b::a00:1]/bcl", false, true},
		{"L6/registration/6to4-of-private", "https://[2002:a00:1::1]/bcl", false, true},
		{"L6/registration/teredo", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/bcl", false, true},
		{"L6/registration/v4-compatible", "https://[::10.0.0.1]/bcl", false, true},
		{"L6/registration/ula", "https://[fd00::1]/bcl", false, true},
		{"L6/registration/public-v4", "https://93.184.216.34/bcl", false, false},
		{"L6/registration/public-v6", "https://[2606:4700:4700::1111]/bcl", false, false},
		{"L6/registration/name", "https://rp.example.com/bcl", false, false},
		{"L6/registration/allowed-localhost", "http://localhost:9000/bcl", true, false},
		{"L6/registration/allowed-private", "https://10.0.0.5/bcl", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validClient()
			c.BackchannelLogoutURI = tc.uri
			err := clientpolicy.ValidateClient(c, clientpolicy.AllowPrivateBackchannel(tc.allowPrivate))
			msgs := err.ByField()[clientpolicy.FieldBackchannelLogoutURI]
			refused := len(msgs) > 0
			if refused != tc.refused {
				t.Fatalf("ValidateClient(%s, allowPrivate=%v) = %v, want refused=%v", tc.uri, tc.allowPrivate, err, tc.refused)
			}
			if refused && !strings.Contains(msgs[len(msgs)-1], "private networks are allowed") {
				t.Errorf("the refusal does not say what would allow it: %q", msgs)
			}
		})
	}
}

// TestBackchannelRegistrationDefault: without the option, private
// networks are not allowed.
func TestBackchannelRegistrationDefault(t *testing.T) {
	c := validClient()
	c.BackchannelLogoutURI = "https://10.0.0.5/bcl"
	if err := clientpolicy.ValidateClient(c); len(err) == 0 {
		t.Fatal("a private back-channel URI was accepted without AllowPrivateBackchannel")
	}
}
