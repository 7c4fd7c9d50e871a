package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateTLS: tls_cert_file and tls_key_file go together and must
// load as a pair when serve starts (issue #13 item 16); they come from the
// environment and the YAML file like every option.
func TestValidateTLS(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	otherCert, _, _ := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name      string
		cert, key string
		want      string // "" means valid
	}{
		{"neither", "", "", ""},
		{"both", certFile, keyFile, ""},
		{"cert-only", certFile, "", "go together"},
		{"key-only", "", keyFile, "go together"},
		{"missing-file", missing, keyFile, "no such file"},
		{"key-of-another-certificate", otherCert, keyFile, "private key does not match public key"},
		{"key-and-cert-swapped", keyFile, certFile, "tls_cert_file and tls_key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"MONBAN_TLS_CERT_FILE": tc.cert, "MONBAN_TLS_KEY_FILE": tc.key}
			cfg, err := loadConfig("", nil, envMap(env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TLSCertFile != tc.cert || cfg.TLSKeyFile != tc.key {
				t.Fatalf("loaded %q %q, want %q %q", cfg.TLSCertFile, cfg.TLSKeyFile, tc.cert, tc.key)
			}
			err = cfg.Validate(true)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
