package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestMain starts (on first use) and stops the PostgreSQL server the
// command and end-to-end tests share.
func TestMain(m *testing.M) { pgtest.Main(m) }

// newPostgresStore opens a store on a fresh, migrated database that is
// dropped after the test, with opts passed to postgres.Open.
func newPostgresStore(t *testing.T, opts ...postgres.Option) storage.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), opts...)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// newPostgresDSN returns the DSN of a fresh database without monban's
// schema (as an operator starts: "monban migrate up" comes first). It is
// dropped after the test.
func newPostgresDSN(t *testing.T) string {
	t.Helper()
	return pgtest.NewEmptyDatabase(t)
}

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs monban in-process with the environment env and stdin.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut, envMap(env))
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	r := runCLI(t, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("monban %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// dbEnv returns an environment pointing the CLI at a fresh, migrated
// database, and that database's store for checking what the CLI wrote.
func dbEnv(t *testing.T) (map[string]string, storage.Store) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(st.Close)
	return map[string]string{"MONBAN_DATABASE_URL": dsn}, st
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
	}{
		{name: "no arguments", args: nil, wantCode: 2, wantStderr: []string{"Usage:", "monban client add"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: []string{`monban: unknown command "frobnicate"`, "Usage:"}},
		{name: "help for an unknown command", args: []string{"help", "frobnicate"}, wantCode: 2, wantStderr: []string{`monban: help: unknown command "frobnicate"`}},
		{name: "group without subcommand", args: []string{"client"}, wantCode: 2, wantStderr: []string{"monban: client: want a subcommand", "Run 'monban client -h'"}},
		{name: "unknown subcommand", args: []string{"user", "remove"}, wantCode: 2, wantStderr: []string{`monban: user: unknown subcommand "remove"`}},
		{name: "version takes no arguments", args: []string{"version", "x"}, wantCode: 2, wantStderr: []string{`monban: version: unexpected argument "x"`}},
		{name: "unknown flag", args: []string{"user", "list", "--verbose"}, wantCode: 2, wantStderr: []string{"flag provided but not defined: -verbose", "Usage: monban user list"}},
		{name: "missing required flag", args: []string{"client", "add", "--name", "x"}, wantCode: 2, wantStderr: []string{"monban: client add: --id is required", "Run 'monban client add -h'"}},
		{name: "password as flag is refused", args: []string{"user", "add", "--username", "a", "--password", "secret123"}, wantCode: 2, wantStderr: []string{"flag provided but not defined: -password"}},
		{name: "password-stdin required", args: []string{"user", "add", "--username", "a"}, wantCode: 2, wantStderr: []string{"--password-stdin is required"}},
		{name: "missing positional", args: []string{"user", "disable"}, wantCode: 2, wantStderr: []string{"monban: user disable: missing argument"}},
		{name: "extra positional", args: []string{"client", "show", "a", "b"}, wantCode: 2, wantStderr: []string{"monban: client show: too many arguments"}},
		{name: "unexpected positional", args: []string{"client", "list", "x"}, wantCode: 2, wantStderr: []string{`unexpected argument "x"`}},
		{name: "bad output format", args: []string{"client", "list", "--output", "yaml"}, wantCode: 2, wantStderr: []string{`--output must be text or json, not "yaml"`}},
		{name: "no database URL", args: []string{"user", "list"}, wantCode: 1, wantStderr: []string{"monban: user list: database URL is required"}},
		{
			name:     "serve reports every configuration problem",
			args:     []string{"serve", "--issuer", "http://id.example.com"},
			wantCode: 1,
			wantStderr: []string{
				`monban: serve: issuer "http://id.example.com" must use https`,
				"monban: serve: database URL is required",
				"monban: serve: at least one secret is required",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "", tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", r.code, tc.wantCode, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestHelp: help, asked for in any of its forms, goes to stdout with exit
// code 0 (issue #13 item 15); only usage errors exit 2 on stderr.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantStdout []string
	}{
		{"help", []string{"help"}, []string{"Usage:", "monban serve", "monban version"}},
		{"-h", []string{"-h"}, []string{"Usage:", "monban client add"}},
		{"--help", []string{"--help"}, []string{"Usage:", "monban keys rotate"}},
		{"-help", []string{"-help"}, []string{"Usage:"}},
		{"help-command", []string{"help", "serve"}, []string{"Usage: monban serve", "-management-listen"}},
		{"help-group", []string{"help", "client"}, []string{"monban client rotate-secret ID"}},
		{"help-subcommand", []string{"help", "client", "add"}, []string{"Usage: monban client add", "-redirect-uri"}},
		{"group-h", []string{"client", "-h"}, []string{"monban client rotate-secret ID"}},
		{"group-help-word", []string{"migrate", "help"}, []string{"monban migrate up|status"}},
		{"subcommand-h", []string{"client", "add", "-h"}, []string{"Usage: monban client add", "-redirect-uri", "MONBAN_DATABASE_URL"}},
		{"subcommand--help-after-flags", []string{"user", "passwd", "alice", "--help"}, []string{"Usage: monban user passwd", "-password-stdin"}},
		{"serve-h", []string{"serve", "-h"}, []string{"Usage: monban serve", "-dev"}},
		{"help-version", []string{"help", "version"}, []string{"Usage: monban version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "", tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr", r.code, r.stderr)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestVersion: `monban version` and `--version` print the version, the
// commit and the Go release (issue #13 item 15).
func TestVersion(t *testing.T) {
	b := app.Build()
	want := "version: " + b.Version + "\ncommit: " + b.Commit + "\ngo: " + b.GoVersion + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		t.Run(args[0], func(t *testing.T) {
			r := runCLI(t, nil, "", args...)
			if r.code != 0 || r.stdout != want || r.stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantSet bool
	}{
		{name: "flag after positional", args: []string{"alice", "--password-stdin"}, want: []string{"alice"}, wantSet: true},
		{name: "flag before positional", args: []string{"--password-stdin", "alice"}, want: []string{"alice"}, wantSet: true},
		{name: "double dash", args: []string{"--", "-alice"}, want: []string{"-alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{stderr: &bytes.Buffer{}}
			fs := c.newFlagSet("test", "")
			set := fs.Bool("password-stdin", false, "")
			got, err := parseArgs(fs, tc.args, 1)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || *set != tc.wantSet {
				t.Errorf("got %q (flag %v), want %q (flag %v)", got, *set, tc.want, tc.wantSet)
			}
		})
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{name: "plain", err: errors.New("boom"), want: []string{"boom"}},
		{name: "joined", err: errors.Join(errors.New("a"), errors.Join(errors.New("b"), errors.New("c"))), want: []string{"a", "b", "c"}},
		{name: "multi-line message folded", err: errors.New("failed to connect:\n\thost a: refused\n\thost b: refused"), want: []string{"failed to connect: host a: refused host b: refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorLines(tc.err); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("errorLines = %q, want %q", got, tc.want)
			}
		})
	}
}
