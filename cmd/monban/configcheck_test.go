package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestConfigCheck: config check prints the effective configuration with
// the database password and the secrets redacted, and exits 1 listing
// every problem serve would refuse to start with.
func TestConfigCheck(t *testing.T) {
	good := map[string]string{
		"MONBAN_ISSUER":       "https://id.example.com",
		"MONBAN_DATABASE_URL": "postgres://monban:hunter2@db.internal/monban",
		"MONBAN_SECRETS":      testSecret,
	}
	for _, tc := range []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "valid", env: good, wantStdout: []string{
			`issuer: "https://id.example.com"`, `listen: ":8080"`, `management_listen: "127.0.0.1:9090"`,
			`database_url: "postgres://db.internal/monban (credentials redacted)"`, `secrets: ["(redacted)"]`,
			"session_idle_timeout: 1h0m0s",
		}},
		{name: "flag-overrides", env: good, args: []string{"--management-listen", "off"},
			wantStdout: []string{`management_listen: ""`}},
		{name: "dev-needs-nothing", args: []string{"--dev"}, wantStdout: []string{`issuer: ""`, "secrets: []"}},
		{name: "all-problems", env: map[string]string{"MONBAN_SECRETS": "short", "MONBAN_LOG_FORMAT": "xml"}, wantCode: 1,
			wantStdout: []string{`log_format: "xml"`},
			wantStderr: []string{"monban: config check: issuer is required", "database URL is required",
				"secret #1 is not the base64", `log format "xml"`}},
		// Issue #13 item 17: a base64 password with "/" breaks the URL;
		// config check says so without printing the password.
		{name: "dsn-slash-in-password", env: envWith(good, "MONBAN_DATABASE_URL", "postgres://monban:hunter2/Ab+c@db.internal:5432/monban"),
			wantCode: 1, wantStderr: []string{"database URL: not a valid URL", "percent-encode", "/ as %2F"}},
		{name: "dsn-driver-refuses", env: envWith(good, "MONBAN_DATABASE_URL", "postgres://monban:hunter2@db.internal/monban?sslmode=sometimes"),
			wantCode: 1, wantStderr: []string{"database URL postgres://db.internal/monban (credentials redacted): the PostgreSQL driver cannot use it", "sslmode is invalid"}},
		{name: "dsn-percent-encoded-ok", env: envWith(good, "MONBAN_DATABASE_URL", "postgres://monban:hunter2%2FAb+c@db.internal:5432/monban")},
		{name: "bad-output", env: good, args: []string{"--output", "yaml"}, wantCode: 2,
			wantStderr: []string{"--output must be text or json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, "", append([]string{"config", "check"}, tc.args...)...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(r.stdout, w+"\n") {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, secret := range []string{"hunter2", testSecret} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("output reveals %q", secret)
				}
			}
		})
	}
}

// TestConfigCheckJSON: --output json is one object with every key.
func TestConfigCheckJSON(t *testing.T) {
	r := mustRun(t, map[string]string{"MONBAN_ISSUER": "https://id.example.com",
		"MONBAN_DATABASE_URL": "host=db password=hunter2", "MONBAN_SECRETS": testSecret + "," + testSecret},
		"", "config", "check", "--output", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	for _, tc := range []struct {
		name string
		key  string
		want any
	}{
		{"string", "issuer", "https://id.example.com"},
		{"dsn-redacted", "database_url", "(key=value connection string redacted)"},
		{"secrets-redacted", "secrets", []any{"(redacted)", "(redacted)"}},
		{"duration", "session_max_age", "12h0m0s"},
		{"bool", "backchannel_allow_private_networks", false},
		{"int", "refresh_reuse_max", float64(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := json.Marshal(got[tc.key])
			w, _ := json.Marshal(tc.want)
			if string(g) != string(w) {
				t.Fatalf("%s = %s, want %s", tc.key, g, w)
			}
		})
	}
	if strings.Contains(r.stdout, "hunter2") {
		t.Fatal("the database password was printed")
	}
}

// envWith returns a copy of env with key set to value.
func envWith(env map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out[key] = value
	return out
}

// TestConfigCheckListsEveryOption: `monban config check` shows every key
// of the options table (so an operator sees what is in effect), and never
// an SMTP password.
func TestConfigCheckListsEveryOption(t *testing.T) {
	cfg := defaultConfig()
	cfg.Mail.SMTPURL = "smtp://mailer:hunter2-secret@mail.example:587"
	shown := map[string]bool{}
	for _, e := range configEntries(cfg).list {
		shown[e.key] = true
		if strings.Contains(e.text, "hunter2-secret") {
			t.Errorf("%s shows the SMTP password: %s", e.key, e.text)
		}
	}
	for _, o := range options {
		if !shown[o.key] {
			t.Errorf("config check does not show %q", o.key)
		}
	}
}
