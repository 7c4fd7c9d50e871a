package main

import (
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

func TestMigrate(t *testing.T) {
	env := map[string]string{"MONBAN_DATABASE_URL": pgtest.NewEmptyDatabase(t)}

	// A database without the schema: status lists pending migrations, and
	// the store commands say what to do instead of dumping SQL errors.
	status := mustRun(t, env, "", "migrate", "status").stdout
	if !strings.HasPrefix(status, "VERSION") || !strings.Contains(status, "00001_initial.sql") || !strings.Contains(status, "pending") ||
		!strings.Contains(status, "run 'monban migrate up'") {
		t.Errorf("status before up:\n%s", status)
	}
	r := runCLI(t, env, "", "user", "list")
	if want := "monban: user list: the database has no monban schema: run 'monban migrate up' first\n"; r.code != 1 || r.stderr != want {
		t.Errorf("user list on an empty database: exit %d, stderr %q", r.code, r.stderr)
	}

	up := mustRun(t, env, "", "migrate", "up").stdout
	if !strings.HasPrefix(up, "Applied ") || !strings.Contains(up, "up to date") {
		t.Errorf("migrate up output = %q", up)
	}
	if up := mustRun(t, env, "", "migrate", "up").stdout; !strings.HasPrefix(up, "Applied 0 migration(s)") {
		t.Errorf("second migrate up output = %q", up)
	}

	status = mustRun(t, env, "", "migrate", "status").stdout
	if strings.Contains(status, "pending") {
		t.Errorf("status after up still has pending migrations:\n%s", status)
	}
	var rows []map[string]any
	decodeJSON(t, mustRun(t, env, "", "migrate", "status", "--output", "json").stdout, &rows)
	if len(rows) == 0 {
		t.Fatal("status JSON is empty")
	}
	first := rows[0]
	if first["version"] != float64(1) || first["name"] != "00001_initial.sql" || first["applied"] != true {
		t.Errorf("first row = %v", first)
	}
	at, err := time.Parse(time.RFC3339Nano, first["applied_at"].(string))
	if err != nil || time.Since(at) > time.Hour || time.Since(at) < -time.Hour {
		t.Errorf("applied_at = %v (%v), want about now", first["applied_at"], err)
	}

	mustRun(t, env, "", "user", "list")
}

func TestMigrateErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{name: "no subcommand", args: []string{"migrate"}, code: 2, want: "monban: migrate: want a subcommand: up, status"},
		{name: "down is not offered", args: []string{"migrate", "down"}, code: 2, want: `monban: migrate: unknown subcommand "down"`},
		{name: "no database URL", args: []string{"migrate", "up"}, code: 1, want: "monban: migrate up: database URL is required"},
		{
			name: "unreachable database",
			env:  map[string]string{"MONBAN_DATABASE_URL": "postgres://monban:pw@127.0.0.1:1/monban?connect_timeout=2"},
			args: []string{"migrate", "status"},
			code: 1,
			want: "monban: migrate status: ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, "", tc.args...)
			if r.code != tc.code || !strings.HasPrefix(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tc.code, tc.want)
			}
			if tc.code == 1 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr has more than one line: %q", r.stderr)
			}
			if strings.Contains(r.stderr, ":pw@") {
				t.Errorf("stderr reveals the database password: %q", r.stderr)
			}
		})
	}
}
