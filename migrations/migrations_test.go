package migrations_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/migrations"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sqlFiles returns the migration files as the package embeds them.
func sqlFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("sql", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files found: %v", err)
	}
	return files
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestFilesFollowTheRules(t *testing.T) {
	name := regexp.MustCompile(`^\d{5}_[a-z0-9_]+\.sql$`)
	// A file runs in goose's transaction unless it must build or drop an
	// index on a live table without blocking writes (CONCURRENTLY, which
	// cannot run in a transaction block): then it says so on its first
	// line, and that is the only reason to.
	const noTx = "-- +goose NO TRANSACTION\n"
	concurrently := func(text string) bool { return strings.Contains(strings.ToUpper(text), "CONCURRENTLY") }
	rules := []struct {
		name string
		bad  func(file, text string) bool
	}{
		{"name is NNNNN_snake_case.sql", func(file, _ string) bool { return !name.MatchString(filepath.Base(file)) }},
		{"starts with -- +goose Up", func(_, text string) bool {
			return !strings.HasPrefix(strings.TrimPrefix(text, noTx), "-- +goose Up\n")
		}},
		{"forward-only: no Down section", func(_, text string) bool { return strings.Contains(text, "+goose Down") }},
		{"runs in a transaction unless it needs CONCURRENTLY", func(_, text string) bool {
			return strings.Contains(text, "+goose NO TRANSACTION") && (!strings.HasPrefix(text, noTx) || !concurrently(text))
		}},
		{"no CONCURRENTLY inside a transaction", func(_, text string) bool {
			return concurrently(text) && !strings.HasPrefix(text, noTx)
		}},
	}
	for _, file := range sqlFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			t.Run(filepath.Base(file)+"/"+r.name, func(t *testing.T) {
				if r.bad(file, string(b)) {
					t.Errorf("%s breaks the rule", file)
				}
			})
		}
	}
}

func TestUpTwice(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewEmptyDatabase(t)
	for i := range 2 {
		if err := migrations.Up(ctx, dsn); err != nil {
			t.Fatalf("Up #%d: %v", i+1, err)
		}
	}
	assertAppliedOnce(t, dsn)
	if n, err := migrations.Pending(ctx, dsn); err != nil || n != 0 {
		t.Errorf("Pending after Up = %d, %v; want 0", n, err)
	}
}

func TestUpConcurrently(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewEmptyDatabase(t)
	const replicas = 3
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { errs[i] = migrations.Up(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Up in replica %d: %v", i, err)
		}
	}
	assertAppliedOnce(t, dsn)
}

// assertAppliedOnce checks that every migration is recorded exactly once
// and the schema is there.
func assertAppliedOnce(t *testing.T, dsn string) {
	t.Helper()
	conn := connect(t, dsn)
	files := sqlFiles(t)
	var rows, versions int
	err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version
		WHERE version_id > 0`).Scan(&rows, &versions)
	if err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if rows != len(files) || versions != len(files) {
		t.Errorf("goose_db_version has %d rows for %d versions, want %d of each", rows, versions, len(files))
	}
	var tables int
	err = conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
		AND tablename = ANY ($1)`, []string{"users", "clients", "auth_requests", "sessions",
		"session_clients", "consents", "refresh_tokens", "signing_keys"}).Scan(&tables)
	if err != nil {
		t.Fatalf("read pg_tables: %v", err)
	}
	if tables != 8 {
		t.Errorf("found %d of the 8 tables", tables)
	}
}

func TestStatus(t *testing.T) {
	ctx := t.Context()
	files := sqlFiles(t)
	tests := []struct {
		name        string
		migrate     bool
		wantApplied bool
	}{
		{"empty database", false, false},
		{"migrated database", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewEmptyDatabase(t)
			if tc.migrate {
				if err := migrations.Up(ctx, dsn); err != nil {
					t.Fatalf("Up: %v", err)
				}
			}
			sts, err := migrations.Status(ctx, dsn)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if len(sts) != len(files) {
				t.Fatalf("Status lists %d migrations, want %d: %+v", len(sts), len(files), sts)
			}
			for i, st := range sts {
				// The version is the file's number; numbers are assigned
				// to work in parallel, so a branch may skip some.
				want, _ := strconv.ParseInt(strings.SplitN(filepath.Base(files[i]), "_", 2)[0], 10, 64)
				if st.Name != filepath.Base(files[i]) || st.Version != want {
					t.Errorf("Status[%d] = version %d %q, want %d %q", i, st.Version, st.Name, want, filepath.Base(files[i]))
				}
				if st.Applied != tc.wantApplied || st.AppliedAt.IsZero() == tc.wantApplied {
					t.Errorf("Status[%d] Applied = %v at %v, want applied %v", i, st.Applied, st.AppliedAt, tc.wantApplied)
				}
			}
			wantPending := len(files)
			if tc.migrate {
				wantPending = 0
			}
			if n, err := migrations.Pending(ctx, dsn); err != nil || n != wantPending {
				t.Errorf("Pending = %d, %v; want %d", n, err, wantPending)
			}
			if !tc.migrate {
				var table *string
				if err := connect(t, dsn).QueryRow(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
					t.Fatal(err)
				}
				if table != nil {
					t.Errorf("Status and Pending created goose_db_version; they must only read")
				}
			}
		})
	}
}

func TestUpRefusesNewerDatabase(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t) // migrated by this binary
	const future = 99999
	if _, err := connect(t, dsn).Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, future); err != nil {
		t.Fatal(err)
	}

	err := migrations.Up(ctx, dsn)
	if !errors.Is(err, migrations.ErrDatabaseTooNew) {
		t.Fatalf("Up on a newer database = %v, want ErrDatabaseTooNew", err)
	}
	if !strings.Contains(err.Error(), "99999") {
		t.Errorf("error %q does not name the unknown migration", err)
	}

	sts, err := migrations.Status(ctx, dsn)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	last := sts[len(sts)-1]
	if last.Version != future || last.Name != "" || !last.Applied {
		t.Errorf("Status does not list the unknown migration last: %+v", last)
	}
	if n, err := migrations.Pending(ctx, dsn); err != nil || n != 0 {
		t.Errorf("Pending on a newer database = %d, %v; want 0 (old replicas stay ready)", n, err)
	}
}
