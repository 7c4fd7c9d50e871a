package pgtest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"URL", "postgres://u:p@db:5432/postgres?sslmode=disable", "postgres://u:p@db:5432/monban_x?sslmode=disable"},
		{"URL without a database", "postgresql://u@db", "postgresql://u@db/monban_x"},
		{"key=value", "host=/tmp/s user=postgres dbname=postgres", "host=/tmp/s user=postgres dbname=postgres dbname=monban_x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := withDatabase(tc.dsn, "monban_x")
			if got != tc.want {
				t.Errorf("withDatabase = %q, want %q", got, tc.want)
			}
			cfg, err := pgx.ParseConfig(got)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Database != "monban_x" {
				t.Errorf("pgx reads database %q", cfg.Database)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, dsn string
	}{
		{"URL", "postgres://u:hunter2@db/x"},
		{"key=value", "host=db password=hunter2 user=u"},
		{"quoted key=value", "host=db password='hunter2 x' user=u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact(tc.dsn); strings.Contains(got, "hunter2") {
				t.Errorf("redact(%q) = %q", tc.dsn, got)
			}
		})
	}
}

// TestStartUp starts the server first of all tests (Go runs tests in
// source order) and logs how long it took: see it with go test -v.
func TestStartUp(t *testing.T) {
	start := time.Now()
	NewDatabase(t)
	t.Logf("server start, template migration and first database: %v", time.Since(start))
	start = time.Now()
	NewDatabase(t)
	t.Logf("another database: %v", time.Since(start))
}

func TestDatabasesAreMigratedAndIsolated(t *testing.T) {
	ctx := t.Context()
	const n = 8
	dsns := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dsns[i] = NewDatabase(t) }) // concurrent clones of one template
	}
	wg.Wait()
	for i, dsn := range dsns {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to database %d: %v", i, err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, username, email, email_verified, name, given_name,
			family_name, password_hash, disabled, admin, created_at, updated_at)
			VALUES ('u', 'alice', '', false, '', '', '', '', false, false, now(), now())`); err != nil {
			t.Errorf("insert into database %d (schema missing, or a row leaked from another database?): %v", i, err)
		}
	}
}

func TestEmptyDatabaseHasNoSchema(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var users *string
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass('users')::text`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users != nil {
		t.Errorf("an empty database has a users table")
	}
}

// TestSuspendServer: while suspended the server accepts nothing and
// answers nothing, so a query waits until its own deadline; resumed, it
// answers again.
func TestSuspendServer(t *testing.T) {
	dsn := NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	SuspendServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a suspended server answered")
	}
	ResumeServer(t)
	fresh, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect after resume: %v", err)
	}
	defer fresh.Close(context.Background())
	var one int
	if err := fresh.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query after resume: %d, %v", one, err)
	}
}
