package main

import (
	"strings"
	"testing"
)

// TestDemoBanner: the make run banner says where the admin console and the
// management listener are, and that the demo user is an administrator
// (issue #13 item 18).
func TestDemoBanner(t *testing.T) {
	creds := &demoCredentials{Username: "demo", Password: "pw"}
	for _, tc := range []struct {
		name, management string
		want             []string
	}{
		{"loopback", "127.0.0.1:9090", []string{"http://127.0.0.1:9090/readyz"}},
		{"all-interfaces", ":9090", []string{"http://localhost:9090/readyz"}},
		{"off", "", []string{"management  off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printDemo(&b, "http://localhost:8080", tc.management, creds)
			for _, w := range append(tc.want, "admin       http://localhost:8080/admin", "an administrator") {
				if !strings.Contains(b.String(), w) {
					t.Errorf("banner lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
