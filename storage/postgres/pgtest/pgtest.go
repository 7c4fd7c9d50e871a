// Package pgtest gives tests a real PostgreSQL server: one per test binary,
// started on first use, and a fresh, migrated database per test.
//
// A package whose tests need PostgreSQL hands its TestMain to Main, which
// stops the server when the tests are done:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.NewDatabase(t) // migrated, empty, dropped after the test
//		store, err := postgres.Open(t.Context(), dsn)
//		...
//	}
//
// Where the server comes from:
//   - If MONBAN_TEST_DATABASE_URL is set, the server it names is used; the
//     DSN must be a superuser's (tests create and drop databases).
//   - Otherwise pgtest starts a throwaway cluster from the locally installed
//     PostgreSQL server binaries (initdb and postgres, from PATH or the
//     highest version under /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin).
//     It listens only on a Unix socket in a temporary directory, runs with
//     fsync off, and is removed when Main returns. As root it runs as the
//     "postgres" system user, because PostgreSQL refuses to run as root.
//
// pgtest never skips silently: if no server can be had, every test that
// asks for a database fails and says what to install or set. Only
// MONBAN_TEST_SKIP_POSTGRES=1 turns that into a skip.
//
// Each database is cloned (CREATE DATABASE … TEMPLATE) from a template that
// was migrated once with migrations.Up, which takes milliseconds.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/migrations"
)

// Environment variables that choose the server.
const (
	// EnvDatabaseURL names a running server to use instead of starting one:
	// a superuser DSN (URL or key=value form).
	EnvDatabaseURL = "MONBAN_TEST_DATABASE_URL"
	// EnvSkip set to "1" makes tests that need PostgreSQL skip rather than
	// fail when no server is available.
	EnvSkip = "MONBAN_TEST_SKIP_POSTGRES"
)

// startTimeout bounds starting the server and migrating the template.
const startTimeout = 2 * time.Minute

var (
	mu     sync.Mutex
	srv    *server // the running server; nil before first use and after Stop
	srvErr error   // why the server could not be had
	dbSeq  atomic.Int64
)

type server struct {
	dsn      string        // superuser DSN of the server's default database
	admin    *pgxpool.Pool // connection for CREATE and DROP DATABASE
	prefix   string        // unique per test binary, for database names
	template string        // migrated database that NewDatabase clones
	cluster  *cluster      // nil when EnvDatabaseURL names the server
}

// Main runs the tests of m, stops the server if one was started, and exits
// with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the server started for this test binary and removes its files
// (or, with EnvDatabaseURL, drops the template database). Main calls it;
// call it yourself only from a TestMain that does not use Main. It is safe
// to call when no server was started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	s := srv
	srv, srvErr = nil, nil
	if s == nil {
		return
	}
	if s.cluster == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(s.template)+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop template database %s: %v\n", s.template, err)
		}
		s.admin.Close()
		return
	}
	s.admin.Close()
	if err := s.cluster.destroy(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
}

// NewDatabase creates a database with monban's schema migrated and no
// rows, and returns a DSN for it. The database is dropped when the test
// ends. It fails the test if no server is available (see the package
// documentation).
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	s := acquire(tb)
	return s.newDatabase(tb, s.template)
}

// NewEmptyDatabase is NewDatabase without the schema: the database is
// created from template0, for testing migrations themselves.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return acquire(tb).newDatabase(tb, "template0")
}

// StopServer shuts the test binary's server down at once (like pg_ctl stop
// -m immediate), so a test can observe how code behaves while the database
// is unreachable. Databases survive, and so does every committed
// transaction: the server runs with synchronous_commit=off for speed, so
// StopServer checkpoints first, or an immediate stop could lose the last
// commits and a test would see data vanish instead of an outage. StartServer brings the server back; if
// the test does not, a cleanup does. The server is shared by the whole test
// binary, so a test that calls StopServer must not run in parallel with
// other tests that use PostgreSQL. With an external server (EnvDatabaseURL)
// it skips the test, saying why: pgtest does not stop servers it did not
// start.
func StopServer(tb testing.TB) {
	tb.Helper()
	s := acquire(tb)
	if s.cluster == nil {
		tb.Skipf("pgtest: StopServer: the server is external (%s); only a server pgtest started can be stopped", EnvDatabaseURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := s.admin.Exec(ctx, "CHECKPOINT"); err != nil {
		tb.Fatalf("pgtest: StopServer: checkpoint: %v", err)
	}
	if err := s.cluster.stop(); err != nil {
		tb.Fatalf("pgtest: StopServer: %v", err)
	}
	tb.Cleanup(func() {
		if !s.cluster.running() {
			StartServer(tb)
		}
	})
}

// StartServer starts the server again after StopServer and waits until it
// accepts connections. Connection pools opened before the outage recover
// on their own: pgx discards broken connections.
func StartServer(tb testing.TB) {
	tb.Helper()
	s := acquire(tb)
	if s.cluster == nil {
		tb.Fatalf("pgtest: StartServer: the server is external (%s)", EnvDatabaseURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.cluster.start(ctx); err != nil {
		tb.Fatalf("pgtest: StartServer: %v", err)
	}
	s.admin.Reset()
}

// acquire returns the server, starting it on first use.
func acquire(tb testing.TB) *server {
	tb.Helper()
	if os.Getenv(EnvSkip) == "1" {
		tb.Skipf("pgtest: %s=1: skipping a test that needs PostgreSQL", EnvSkip)
	}
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		srv, srvErr = startServer()
	}
	if srvErr != nil {
		tb.Fatalf("pgtest: no PostgreSQL server for this test: %v", srvErr)
	}
	return srv
}

func startServer() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	s := &server{prefix: "monban_test_" + fmt.Sprint(os.Getpid()) + "_" + randomHex(3)}
	s.template = s.prefix + "_template"
	if dsn := os.Getenv(EnvDatabaseURL); dsn != "" {
		s.dsn = dsn
	} else {
		c, err := newCluster(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w\n\tTo run these tests, install the PostgreSQL server (e.g. apt-get install postgresql), "+
				"or set %s to a superuser DSN of a running server, or set %s=1 to skip them", err, EnvDatabaseURL, EnvSkip)
		}
		s.cluster = c
		s.dsn = c.dsn
	}
	if err := s.init(ctx); err != nil {
		if s.cluster != nil {
			_ = s.cluster.destroy()
			return nil, err
		}
		return nil, fmt.Errorf("the server named by %s: %w", EnvDatabaseURL, err)
	}
	return s, nil
}

// init connects and creates the migrated template database.
func (s *server) init(ctx context.Context) error {
	admin, err := pgxpool.New(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(s.dsn), err)
	}
	if err := admin.Ping(ctx); err != nil {
		admin.Close()
		return fmt.Errorf("connect to %s: %w", redact(s.dsn), err)
	}
	s.admin = admin
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(s.template)+" TEMPLATE template0"); err != nil {
		admin.Close()
		return fmt.Errorf("create template database (is the DSN a superuser's?): %w", err)
	}
	if err := migrations.Up(ctx, withDatabase(s.dsn, s.template)); err != nil {
		admin.Close()
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

func (s *server) newDatabase(tb testing.TB, template string) string {
	tb.Helper()
	name := fmt.Sprintf("%s_%d", s.prefix, dbSeq.Add(1))
	// Not tb.Context(): it is already canceled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template)); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends connections a test left open.
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(s.dsn, name)
}

// withDatabase returns dsn with its database name replaced by name. It
// accepts both DSN forms pgx does: URLs and key=value strings (where a
// later key overrides an earlier one).
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			u.RawPath = ""
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}

// redact hides the password of a DSN for error messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return passwordSetting.ReplaceAllString(dsn, "password=xxxxx")
}

var passwordSetting = regexp.MustCompile(`password\s*=\s*('(\\.|[^'])*'|\S+)`)

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
