// Package migrations holds monban's forward-only PostgreSQL schema
// migrations and applies them with goose.
//
// The SQL files in sql/ are embedded in the binary. Each runs in its own
// transaction and is recorded in goose's version table (goose_db_version).
// Up holds a PostgreSQL session-level advisory lock while it migrates, so
// several replicas may start at once: one applies the migrations, the others
// wait for the lock and then find nothing left to do.
//
// A binary refuses to migrate (and so to start) when the database carries a
// migration it does not know: that database belongs to a newer monban.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var embedded embed.FS

// lockID is the advisory lock key Up holds while migrating ("monb" in
// ASCII), distinct from goose's default so monban does not contend with
// other goose users of the same database.
const lockID int64 = 0x6d6f6e62

// lockWaitSeconds bounds how long Up waits for another replica's migration
// (polled once a second).
const lockWaitSeconds = 600

// ErrDatabaseTooNew is returned by Up when the database has a migration
// applied that this binary does not know: it was migrated by a newer monban.
var ErrDatabaseTooNew = errors.New("migrations: database schema is newer than this binary")

// MigrationStatus describes one migration and whether the database has it.
type MigrationStatus struct {
	Version   int64     // from the file name, e.g. 1 for 00001_initial.sql
	Name      string    // file name; empty for a version this binary does not know
	Applied   bool      // whether the database has the migration
	AppliedAt time.Time // when it was applied (UTC); zero unless Applied
}

// Up applies every pending migration to the database at dsn. Concurrent
// callers, in this or other processes, are serialised by an advisory lock,
// so the schema is applied exactly once. It fails with ErrDatabaseTooNew if
// the database has a migration this binary does not know.
func Up(ctx context.Context, dsn string) error {
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID),
		lock.WithLockTimeout(1, lockWaitSeconds),
	)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := newProvider(db, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	// goose itself treats an unknown newer version as "nothing to do"; check
	// first so an old binary does not run against a newer schema.
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	if err := checkNotNewer(p, applied); err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return nil
}

// Status lists every migration this binary knows, in version order, with
// whether the database at dsn has applied it. Versions applied to the
// database that this binary does not know are listed after them with an
// empty Name. Status only reads: it neither takes the migration lock nor
// creates goose's version table.
func Status(ctx context.Context, dsn string) ([]MigrationStatus, error) {
	db, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	p, err := newProvider(db)
	if err != nil {
		return nil, err
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []MigrationStatus
	known := make(map[int64]bool)
	for _, src := range p.ListSources() {
		known[src.Version] = true
		st := MigrationStatus{Version: src.Version, Name: path.Base(src.Path)}
		st.AppliedAt, st.Applied = applied[src.Version]
		out = append(out, st)
	}
	for _, v := range slices.Sorted(maps.Keys(applied)) {
		if !known[v] {
			out = append(out, MigrationStatus{Version: v, Applied: true, AppliedAt: applied[v]})
		}
	}
	return out, nil
}

// Pending returns how many known migrations the database at dsn has not
// applied; zero means the schema is up to date (a readiness check). Like
// Status it only reads. A database that is newer than the binary has no
// pending migrations: during a rolling upgrade old replicas stay ready.
func Pending(ctx context.Context, dsn string) (int, error) {
	sts, err := Status(ctx, dsn)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, st := range sts {
		if !st.Applied {
			n++
		}
	}
	return n, nil
}

// openDB opens a database/sql handle through pgx. Pool parameters that
// storage/postgres understands (pool_max_conns, ...) may appear in the DSN;
// they are stripped here rather than sent to the server.
func openDB(dsn string) (*sql.DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("migrations: parse DSN: %w", err)
	}
	// goose records applied_at as a timestamp without time zone filled by
	// now(): make that wall time UTC.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	return stdlib.OpenDB(*cfg.ConnConfig), nil
}

func newProvider(db *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	fsys, err := fs.Sub(embedded, "sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	opts = append(opts,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.Default()),
	)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// appliedVersions returns the applied migration versions (without goose's
// version 0) and when each was applied. It does not write: a database
// without goose's table has nothing applied.
func appliedVersions(ctx context.Context, db *sql.DB) (map[int64]time.Time, error) {
	store, err := database.NewStore(database.DialectPostgres, goose.DefaultTablename)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	ext, ok := store.(database.StoreExtender)
	if !ok {
		return nil, errors.New("migrations: goose store cannot check for its table")
	}
	exists, err := ext.TableExists(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrations: read applied versions: %w", err)
	}
	applied := make(map[int64]time.Time)
	if !exists {
		return applied, nil
	}
	list, err := store.ListMigrations(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrations: read applied versions: %w", err)
	}
	for _, m := range list {
		if m.Version == 0 || !m.IsApplied {
			continue
		}
		res, err := store.GetMigration(ctx, db, m.Version)
		if err != nil {
			return nil, fmt.Errorf("migrations: read version %d: %w", m.Version, err)
		}
		applied[m.Version] = res.Timestamp.UTC()
	}
	return applied, nil
}

// checkNotNewer fails with ErrDatabaseTooNew if applied has a version that
// p does not know.
func checkNotNewer(p *goose.Provider, applied map[int64]time.Time) error {
	known := make(map[int64]bool)
	for _, src := range p.ListSources() {
		known[src.Version] = true
	}
	for _, v := range slices.Sorted(maps.Keys(applied)) {
		if !known[v] {
			return fmt.Errorf("%w: the database has migration %d applied, which this binary does not know; run a monban release that includes it", ErrDatabaseTooNew, v)
		}
	}
	return nil
}
