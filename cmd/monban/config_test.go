package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"github.com/monban-idp/monban/cmd/internal/app"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envMap turns a map into the env lookup function loadConfig takes.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes content to a new file in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadArgs parses args as the serve command's config flags would and loads
// the configuration.
func loadArgs(t *testing.T, args []string, env map[string]string) (*app.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := addConfigFlags(fs, "issuer", "listen", "database_url")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return cf.load(envMap(env))
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, "monban.yaml", `
issuer: https://file.example
listen: ":7000"
database_url: postgres://file/db
session_idle_timeout: 30m
log_format: text
`)
	other := writeFile(t, "other.yaml", "issuer: https://other.example\n")
	// fromFile is what the file sets.
	fromFile := func(c *app.Config) {
		c.Issuer = "https://file.example"
		c.Listen = ":7000"
		c.DatabaseURL = "postgres://file/db"
		c.SessionIdleTimeout = 30 * time.Minute
		c.LogFormat = "text"
	}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *app.Config)
	}{
		{
			name: "defaults",
			want: func(c *app.Config) {},
		},
		{
			name: "file over defaults",
			args: []string{"--config", file},
			want: fromFile,
		},
		{
			name: "MONBAN_CONFIG names the file",
			env:  map[string]string{"MONBAN_CONFIG": file},
			want: fromFile,
		},
		{
			name: "--config over MONBAN_CONFIG",
			args: []string{"--config", other},
			env:  map[string]string{"MONBAN_CONFIG": file},
			want: func(c *app.Config) { c.Issuer = "https://other.example" },
		},
		{
			name: "env over file",
			args: []string{"--config", file},
			env: map[string]string{
				"MONBAN_ISSUER":               "https://env.example",
				"MONBAN_SESSION_IDLE_TIMEOUT": "10m",
				"MONBAN_SECRETS":              "aaa, bbb,,ccc",
			},
			want: func(c *app.Config) {
				fromFile(c)
				c.Issuer = "https://env.example"
				c.SessionIdleTimeout = 10 * time.Minute
				c.Secrets = []string{"aaa", "bbb", "ccc"}
			},
		},
		{
			name: "flag over env over file",
			args: []string{"--config", file, "--issuer", "https://flag.example", "--database-url", "postgres://flag/db"},
			env: map[string]string{
				"MONBAN_ISSUER":       "https://env.example",
				"MONBAN_LISTEN":       ":7001",
				"MONBAN_DATABASE_URL": "postgres://env/db",
			},
			want: func(c *app.Config) {
				fromFile(c)
				c.Issuer = "https://flag.example"
				c.Listen = ":7001"
				c.DatabaseURL = "postgres://flag/db"
			},
		},
		{
			name: "empty env var counts as unset",
			args: []string{"--config", file},
			env:  map[string]string{"MONBAN_ISSUER": ""},
			want: fromFile,
		},
		{
			name: "flag given as empty overrides",
			env:  map[string]string{"MONBAN_LISTEN": ":7001"},
			args: []string{"--listen="},
			want: func(c *app.Config) { c.Listen = "" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadArgs(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			want := defaultConfig()
			tc.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadConfigFileVariants(t *testing.T) {
	dsnFile := writeFile(t, "dsn", "postgres://u:p@db/monban\n")
	secretsFile := writeFile(t, "secrets", "first-secret\nsecond-secret\r\n")
	emptyFile := writeFile(t, "empty", "\n")

	tests := []struct {
		name        string
		env         map[string]string
		wantDSN     string
		wantSecrets []string
		wantErr     string
	}{
		{
			name:    "database URL from file, trailing newline trimmed",
			env:     map[string]string{"MONBAN_DATABASE_URL_FILE": dsnFile},
			wantDSN: "postgres://u:p@db/monban",
		},
		{
			name:        "secrets from file, one per line",
			env:         map[string]string{"MONBAN_SECRETS_FILE": secretsFile},
			wantSecrets: []string{"first-secret", "second-secret"},
		},
		{
			name:    "value and file both set",
			env:     map[string]string{"MONBAN_DATABASE_URL": "postgres://x", "MONBAN_DATABASE_URL_FILE": dsnFile},
			wantErr: "MONBAN_DATABASE_URL and MONBAN_DATABASE_URL_FILE are both set",
		},
		{
			name:    "missing file",
			env:     map[string]string{"MONBAN_SECRETS_FILE": filepath.Join(t.TempDir(), "nope")},
			wantErr: "MONBAN_SECRETS_FILE: open",
		},
		{
			name:    "empty file",
			env:     map[string]string{"MONBAN_DATABASE_URL_FILE": emptyFile},
			wantErr: "MONBAN_DATABASE_URL_FILE: file " + emptyFile + " is empty",
		},
		{
			name:    "non-secret has no file variant",
			env:     map[string]string{"MONBAN_ISSUER_FILE": dsnFile},
			wantDSN: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadConfig("", nil, envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if got.DatabaseURL != tc.wantDSN {
				t.Errorf("DatabaseURL = %q, want %q", got.DatabaseURL, tc.wantDSN)
			}
			if !reflect.DeepEqual(got.Secrets, tc.wantSecrets) {
				t.Errorf("Secrets = %q, want %q", got.Secrets, tc.wantSecrets)
			}
			if got.Issuer != "" {
				t.Errorf("Issuer = %q, want empty", got.Issuer)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string // written to a file when not empty
		env  map[string]string
		want []string // every string must appear in the error
	}{
		{
			name: "unknown YAML key",
			yaml: "issuer: https://id.example\nisuer: typo\n",
			want: []string{`line 2: unknown key "isuer"`},
		},
		{
			name: "duplicate YAML key",
			yaml: "listen: \":1\"\nlisten: \":2\"\n",
			want: []string{`line 2: key "listen" appears twice`},
		},
		{
			name: "mapping where a value belongs",
			yaml: "issuer:\n  url: https://id.example\n",
			want: []string{"line 1: issuer must be a single value"},
		},
		{
			name: "not a mapping",
			yaml: "- issuer\n",
			want: []string{"want a mapping"},
		},
		{
			name: "invalid YAML",
			yaml: "issuer: [\n",
			want: []string{"config file"},
		},
		{
			name: "bad durations everywhere, all reported",
			yaml: "session_max_age: forever\n",
			env:  map[string]string{"MONBAN_SESSION_IDLE_TIMEOUT": "5x"},
			want: []string{
				`line 1: session_max_age: invalid duration "forever"`,
				`MONBAN_SESSION_IDLE_TIMEOUT: invalid duration "5x"`,
			},
		},
		{
			name: "missing config file",
			env:  map[string]string{"MONBAN_CONFIG": "/nonexistent/monban.yaml"},
			want: []string{"config file: open /nonexistent/monban.yaml"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeFile(t, "monban.yaml", tc.yaml)
			}
			_, err := loadConfig(path, nil, envMap(tc.env))
			if err == nil {
				t.Fatal("load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigEmptyFiles(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{name: "empty", yaml: ""},
		{name: "only comments", yaml: "# nothing yet\n"},
		{name: "document marker", yaml: "---\n"},
		{name: "empty mapping", yaml: "{}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(writeFile(t, "monban.yaml", tc.yaml), nil, envMap(nil))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, defaultConfig()) {
				t.Errorf("got %+v, want the defaults", c)
			}
		})
	}
}

func TestLoadConfigYAMLForms(t *testing.T) {
	path := writeFile(t, "monban.yaml", `
secrets:
  - 0123456789abcdef0123456789abcdef
  - fedcba9876543210fedcba9876543210
session_max_age: 8h
log_level:
`)
	c, err := loadConfig(path, nil, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}
	if !reflect.DeepEqual(c.Secrets, want) {
		t.Errorf("Secrets = %q, want %q", c.Secrets, want)
	}
	if c.SessionMaxAge != 8*time.Hour {
		t.Errorf("SessionMaxAge = %s, want 8h", c.SessionMaxAge)
	}
	if c.LogLevel != app.Defaults().LogLevel {
		t.Errorf("null log_level changed LogLevel to %q", c.LogLevel)
	}
}

// validSecret is a valid key-encryption secret (32 bytes, base64).
var validSecret = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestValidate(t *testing.T) {
	valid := func() *app.Config {
		c := defaultConfig()
		c.Issuer = "https://id.example.com"
		c.DatabaseURL = "postgres://db/monban"
		c.Secrets = []string{validSecret}
		return c
	}
	tests := []struct {
		name   string
		dev    bool
		modify func(c *app.Config)
		want   []string // each must appear; none means valid
	}{
		{name: "valid", modify: func(c *app.Config) {}},
		{name: "valid with issuer path", modify: func(c *app.Config) { c.Issuer = "https://example.com/idp" }},
		{name: "http localhost issuer", modify: func(c *app.Config) { c.Issuer = "http://localhost:8080" }},
		{name: "http 127.0.0.1 issuer", modify: func(c *app.Config) { c.Issuer = "http://127.0.0.1:8080" }},
		{name: "http [::1] issuer", modify: func(c *app.Config) { c.Issuer = "http://[::1]:8080" }},
		{
			name: "dev needs nothing",
			dev:  true,
			modify: func(c *app.Config) {
				c.Issuer, c.DatabaseURL, c.Secrets = "", "", nil
			},
		},
		{name: "dev allows http anywhere", dev: true, modify: func(c *app.Config) { c.Issuer = "http://monban:8080" }},
		{
			name: "everything missing, all reported",
			modify: func(c *app.Config) {
				c.Issuer, c.DatabaseURL, c.Secrets = "", "", nil
			},
			want: []string{"issuer is required", "database URL is required", "at least one secret is required"},
		},
		{
			name: "many bad values, all reported",
			modify: func(c *app.Config) {
				c.Issuer = "http://id.example.com"
				c.Listen = "8080"
				c.Secrets = []string{"hunter2"}
				c.SessionIdleTimeout = 0
				c.SessionMaxAge = -time.Second
				c.LogLevel = "loud"
				c.LogFormat = "xml"
			},
			want: []string{
				`issuer "http://id.example.com" must use https`,
				`listen address "8080" must be host:port`,
				"secret #1 is not the base64 encoding of 32 bytes",
				"session idle timeout must be positive",
				"session max age must be positive",
				`log level "loud"`,
				`log format "xml"`,
			},
		},
		{
			name:   "idle longer than max age",
			modify: func(c *app.Config) { c.SessionIdleTimeout = 13 * time.Hour },
			want:   []string{"must not exceed session max age"},
		},
		{name: "relative issuer", modify: func(c *app.Config) { c.Issuer = "id.example.com" }, want: []string{"must be an absolute URL"}},
		{name: "issuer with query", modify: func(c *app.Config) { c.Issuer = "https://id.example.com?x=1" }, want: []string{"must not have a query or fragment"}},
		{name: "issuer with fragment", modify: func(c *app.Config) { c.Issuer = "https://id.example.com#x" }, want: []string{"must not have a query or fragment"}},
		{name: "issuer with trailing slash", modify: func(c *app.Config) { c.Issuer = "https://id.example.com/" }, want: []string{"must not end with a slash"}},
		{name: "issuer with userinfo", modify: func(c *app.Config) { c.Issuer = "https://u@id.example.com" }, want: []string{"must not contain user information"}},
		{name: "issuer with other scheme", modify: func(c *app.Config) { c.Issuer = "ftp://id.example.com" }, want: []string{"must use https"}},
		{name: "localhost lookalike", modify: func(c *app.Config) { c.Issuer = "http://localhost.evil.test" }, want: []string{"must use https"}},
		{name: "second secret bad and not echoed", modify: func(c *app.Config) { c.Secrets = []string{validSecret, "hunter2"} }, want: []string{"secret #2 is not the base64"}},
		{name: "secret of 31 bytes", modify: func(c *app.Config) { c.Secrets = []string{base64.StdEncoding.EncodeToString(make([]byte, 31))} }, want: []string{"secret #1 is not the base64"}},
		{name: "secret in base64url", modify: func(c *app.Config) { c.Secrets = []string{strings.Repeat("-", 43) + "="} }, want: []string{"secret #1 is not the base64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(c)
			err := c.Validate(tc.dev)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate succeeded, want errors")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			for _, s := range c.Secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error reveals a secret: %q", err)
				}
			}
		})
	}
}

func TestConfigLogValueRedacts(t *testing.T) {
	c := defaultConfig()
	c.DatabaseURL = "postgres://monban:s3cr3t-pw@db:5432/monban?sslmode=disable"
	c.Secrets = []string{"kek-0123456789abcdef0123456789abcdef"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	for _, secret := range []string{"s3cr3t-pw", "kek-0123456789abcdef"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("log output reveals %q: %s", secret, b.String())
		}
	}
	if !strings.Contains(b.String(), "db:5432") {
		t.Errorf("log output lost the database host: %s", b.String())
	}
}

// TestConfigKeySettings covers access_token_alg and key_rotation_period:
// every source sets them, durations take days, and Validate refuses an
// unknown algorithm or a period shorter than the key pre-publication lead.
func TestConfigKeySettings(t *testing.T) {
	file := writeFile(t, "keys.yaml", "access_token_alg: EdDSA\nkey_rotation_period: 7d\n")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAlg    string
		wantPeriod time.Duration
		wantErr    string // from Validate
	}{
		{name: "defaults", wantAlg: "ES256", wantPeriod: 30 * 24 * time.Hour},
		{name: "file", args: []string{"--config", file}, wantAlg: "EdDSA", wantPeriod: 7 * 24 * time.Hour},
		{name: "environment over file", args: []string{"--config", file},
			env:     map[string]string{"MONBAN_ACCESS_TOKEN_ALG": "RS256", "MONBAN_KEY_ROTATION_PERIOD": "90d"},
			wantAlg: "RS256", wantPeriod: 90 * 24 * time.Hour},
		{name: "hours", env: map[string]string{"MONBAN_KEY_ROTATION_PERIOD": "36h"}, wantAlg: "ES256", wantPeriod: 36 * time.Hour},
		{name: "unknown algorithm", env: map[string]string{"MONBAN_ACCESS_TOKEN_ALG": "HS256"}, wantAlg: "HS256", wantPeriod: 30 * 24 * time.Hour,
			wantErr: `access token algorithm "HS256" is not one of RS256, ES256, PS256, EdDSA`},
		{name: "algorithm names are case-sensitive", env: map[string]string{"MONBAN_ACCESS_TOKEN_ALG": "es256"}, wantAlg: "es256",
			wantPeriod: 30 * 24 * time.Hour, wantErr: `access token algorithm "es256"`},
		{name: "period within the lead", env: map[string]string{"MONBAN_KEY_ROTATION_PERIOD": "30m"}, wantAlg: "ES256", wantPeriod: 30 * time.Minute,
			wantErr: "key rotation period 30m0s must be at least the 1h0m0s a new key is published before it signs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if c.AccessTokenAlg != tc.wantAlg || c.KeyRotationPeriod != tc.wantPeriod {
				t.Fatalf("access_token_alg %q, key_rotation_period %s; want %q, %s", c.AccessTokenAlg, c.KeyRotationPeriod, tc.wantAlg, tc.wantPeriod)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}

	for _, bad := range []string{"30x", "d", "-1d", "1.5d"} {
		if _, err := loadArgs(t, nil, map[string]string{"MONBAN_KEY_ROTATION_PERIOD": bad}); err == nil || !strings.Contains(err.Error(), "invalid duration") {
			t.Errorf("key_rotation_period %q: %v, want an invalid duration", bad, err)
		}
	}
}

// TestConfigRefreshGraceAndBackchannel covers refresh_reuse_grace,
// refresh_reuse_max and backchannel_allow_private_networks.
func TestConfigRefreshGraceAndBackchannel(t *testing.T) {
	file := writeFile(t, "grace.yaml", "refresh_reuse_grace: 10s\nrefresh_reuse_max: 2\nbackchannel_allow_private_networks: true\n")
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		wantGrace time.Duration
		wantMax   int
		wantPriv  bool
		wantErr   string
	}{
		{name: "defaults-on", wantGrace: 10 * time.Second, wantMax: 2},
		{name: "grace-zero-turns-it-off", env: map[string]string{"MONBAN_REFRESH_REUSE_GRACE": "0s"}, wantMax: 2},
		{name: "max-zero-turns-it-off", env: map[string]string{"MONBAN_REFRESH_REUSE_MAX": "0"}, wantGrace: 10 * time.Second},
		{name: "file", args: []string{"--config", file}, wantGrace: 10 * time.Second, wantMax: 2, wantPriv: true},
		{name: "env-over-file", args: []string{"--config", file},
			env:       map[string]string{"MONBAN_REFRESH_REUSE_MAX": "1", "MONBAN_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS": "false"},
			wantGrace: 10 * time.Second, wantMax: 1},
		{name: "grace-alone-keeps-the-default-max", env: map[string]string{"MONBAN_REFRESH_REUSE_GRACE": "5s"}, wantGrace: 5 * time.Second,
			wantMax: 2},
		{name: "grace-too-long", env: map[string]string{"MONBAN_REFRESH_REUSE_GRACE": "5m", "MONBAN_REFRESH_REUSE_MAX": "1"},
			wantGrace: 5 * time.Minute, wantMax: 1, wantErr: "between 0 and 1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if c.RefreshReuseGrace != tc.wantGrace || c.RefreshReuseMax != tc.wantMax || c.BackchannelAllowPrivateNetworks != tc.wantPriv {
				t.Fatalf("got grace %s max %d private %v", c.RefreshReuseGrace, c.RefreshReuseMax, c.BackchannelAllowPrivateNetworks)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}
	for _, bad := range []string{"maybe", "2"} {
		if _, err := loadArgs(t, nil, map[string]string{"MONBAN_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS": bad}); err == nil {
			t.Errorf("backchannel_allow_private_networks=%q accepted", bad)
		}
	}
}

// TestConfigAdminFreshAuth covers admin_fresh_auth (checklist D2).
func TestConfigAdminFreshAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default", want: 15 * time.Minute},
		{name: "five-minutes", env: map[string]string{"MONBAN_ADMIN_FRESH_AUTH": "5m"}, want: 5 * time.Minute},
		{name: "too-short", env: map[string]string{"MONBAN_ADMIN_FRESH_AUTH": "10s"}, want: 10 * time.Second, wantErr: "between 1m and 12h"},
		{name: "too-long", env: map[string]string{"MONBAN_ADMIN_FRESH_AUTH": "2d"}, want: 48 * time.Hour, wantErr: "between 1m and 12h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, nil, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if c.AdminFreshAuth != tc.want {
				t.Fatalf("admin_fresh_auth = %s, want %s", c.AdminFreshAuth, tc.want)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}
}

// TestConfigShutdownDelay covers shutdown_delay (checklist R7).
func TestConfigShutdownDelay(t *testing.T) {
	for _, tc := range []struct {
		name, value, wantErr string
		want                 time.Duration
	}{
		{name: "default-off", want: 0},
		{name: "five-seconds", value: "5s", want: 5 * time.Second},
		{name: "too-long", value: "2m", want: 2 * time.Minute, wantErr: "between 0 and 1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			if tc.value != "" {
				env["MONBAN_SHUTDOWN_DELAY"] = tc.value
			}
			c, err := loadArgs(t, nil, env)
			if err != nil || c.ShutdownDelay != tc.want {
				t.Fatalf("shutdown_delay = %s (%v), want %s", c.ShutdownDelay, err, tc.want)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}
}

// TestConfigTrustedProxies covers trusted_proxies: addresses and CIDR
// prefixes from the file or the environment, bare addresses as full-length
// prefixes, and every bad entry reported.
func TestConfigTrustedProxies(t *testing.T) {
	file := writeFile(t, "proxies.yaml", "trusted_proxies:\n  - 10.0.0.0/8\n  - 192.0.2.7\n")
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default-none", want: "[]"},
		{name: "file", args: []string{"--config", file}, want: "[10.0.0.0/8 192.0.2.7/32]"},
		{name: "env-over-file", args: []string{"--config", file}, env: map[string]string{"MONBAN_TRUSTED_PROXIES": "::1, 172.16.5.9/12"},
			want: "[::1/128 172.16.0.0/12]"},
		{name: "not-an-address", env: map[string]string{"MONBAN_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, wantErr: `"proxy.internal" is not an IP address`},
		{name: "bad-prefix", env: map[string]string{"MONBAN_TRUSTED_PROXIES": "10.0.0.0/33"}, wantErr: `"10.0.0.0/33"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, tc.args, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("load = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(c.TrustedProxies); got != tc.want && !(tc.want == "[]" && c.TrustedProxies == nil) {
				t.Fatalf("TrustedProxies = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestConfigAuditRetention covers audit_retention: a year by default, days
// or durations, 0 for forever, and nothing shorter than a day.
func TestConfigAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default-a-year", want: 365 * 24 * time.Hour},
		{name: "ninety-days", env: map[string]string{"MONBAN_AUDIT_RETENTION": "90d"}, want: 90 * 24 * time.Hour},
		{name: "forever", env: map[string]string{"MONBAN_AUDIT_RETENTION": "0"}, want: 0},
		{name: "too-short", env: map[string]string{"MONBAN_AUDIT_RETENTION": "1h"}, want: time.Hour, wantErr: "at least 1d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadArgs(t, nil, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.AuditRetention != tc.want {
				t.Fatalf("AuditRetention = %s, want %s", c.AuditRetention, tc.want)
			}
			assertValidates(t, c, tc.wantErr)
		})
	}
}

// assertValidates fills c's required settings and checks that Validate
// fails with an error containing wantErr, or passes when wantErr is "".
func assertValidates(t *testing.T, c *app.Config, wantErr string) {
	t.Helper()
	c.Issuer, c.DatabaseURL, c.Secrets = "https://id.example.com", "postgres://db/monban", []string{validSecret}
	err := c.Validate(false)
	if (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("Validate = %v, want %q", err, wantErr)
	}
}

// TestPprofSetting: MONBAN_PPROF turns the profiler on (served by the
// management handler only, see app.TestManagementPprof).
func TestPprofSetting(t *testing.T) {
	c, err := loadArgs(t, nil, map[string]string{"MONBAN_PPROF": "true"})
	if err != nil || !c.Pprof {
		t.Fatalf("MONBAN_PPROF=true: %v, pprof %v", err, c != nil && c.Pprof)
	}
}
