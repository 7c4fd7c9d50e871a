// Package postgres is the PostgreSQL implementation of storage.Store, built
// on pgx v5 and its connection pool.
//
// The schema comes from package migrations; Open does not migrate. Every
// statement is parameterised. Expiry decisions use the time the caller
// passes in, never the database clock, so tests drive time with a fake
// clock. Single-use values (authorization codes, refresh tokens) are
// consumed by single statements or one transaction, so concurrent callers
// see exactly one winner under PostgreSQL's default READ COMMITTED
// isolation.
//
// Times are returned in UTC, with PostgreSQL's microsecond precision. A
// zero time.Time that means "not set" (RevokedAt, RotatedAt, ...) is stored
// as NULL; a nil slice as NULL and an empty one as '{}'.
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/storage"
)

// Store is a storage.Store backed by a PostgreSQL connection pool. It is
// safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	db   querier // the pool, or the transaction of Atomically
	// timeout bounds Ping, which pgx does not trace (deadlineTracer
	// bounds everything else).
	timeout time.Duration
	// liveness coalesces concurrent LivenessVersion reads; nil inside
	// Atomically, whose statements run on its transaction, one by one.
	liveness *coalescer[livenessKey, livenessValue]
}

// querier is what the store's statements run on: *pgxpool.Pool, or the
// pgx.Tx of Atomically (where Begin opens a savepoint).
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Atomically implements storage.Atomic: fn runs on a Store bound to one
// transaction, committed when fn returns nil and rolled back otherwise;
// fn's own error comes back unchanged. Methods that use a transaction of
// their own run in a savepoint of this one. fn must not keep the Store it
// is given, nor close it.
func (s *Store) Atomically(ctx context.Context, fn func(storage.Store) error) error {
	var fnErr error
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		fnErr = fn(&Store{pool: s.pool, db: tx, timeout: s.timeout})
		return fnErr
	})
	if err != nil && fnErr == nil {
		return wrapErr(err, "transaction")
	}
	return err
}

// locked runs fn in a transaction of its own (a savepoint inside
// Atomically), for a read-modify-write under SELECT … FOR UPDATE. fn
// returns its own errors wrapped (wrapErr), or a caller's updater error
// as fnError, which comes back unchanged; a failed begin or commit is
// wrapped with the operation's context.
func (s *Store) locked(ctx context.Context, fn func(pgx.Tx) error, format string, args ...any) error {
	var inner error
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		inner = fn(tx)
		return inner
	})
	switch fe, ok := inner.(fnError); {
	case ok:
		return fe.err
	case inner != nil:
		return inner
	case err != nil:
		return wrapErr(err, format, args...)
	}
	return nil
}

// fnError carries the error of a caller's updater through locked.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

var _ storage.Store = (*Store)(nil)

// DefaultMaxConns is the pool size when the DSN sets no pool_max_conns:
// 4 per CPU, at least 8. pgxpool's own default, max(4, NumCPU), keeps
// write-heavy requests (a code flow commits three times, each waiting for
// its WAL flush) queueing for a connection while the CPUs idle: on 2 CPUs,
// SSO sign-ins went from ~760/s with 4 connections to ~1,100/s with 8 or
// 16 (BENCHMARKS.md). Two replicas with 8 connections each stay far below
// PostgreSQL's default max_connections of 100.
func DefaultMaxConns() int32 { return int32(max(8, 4*runtime.GOMAXPROCS(0))) }

// Defaults applied when the DSN does not set them.
const (
	defaultConnectTimeout  = 5 * time.Second
	defaultApplicationName = "monban"
)

// Open connects to the database at dsn, a PostgreSQL URL or key=value
// string, and checks that it answers. Pool settings in the DSN
// (pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// pool_max_conn_idle_time, pool_health_check_period) are honoured; without
// pool_max_conns the pool holds at most DefaultMaxConns() connections, and
// pgxpool's other defaults apply (connections recycled after an hour). A
// DSN without connect_timeout gets 5s, one without application_name gets
// "monban", one without statement_timeout gets DefaultStatementTimeout.
//
// No wait on the database is unbounded: every acquire from the pool and
// every statement gives up statement_timeout plus half a second after it
// started (DefaultStatementTimeout's bound when the DSN sets 0), so a
// server that hangs instead of refusing turns into errors within that
// bound rather than requests that wait forever (checklist R1).
// The schema must already be migrated (package migrations).
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(cfg)
	}
	timeout := clientTimeout(cfg.ConnConfig.RuntimeParams["statement_timeout"])
	cfg.ConnConfig.Tracer = &deadlineTracer{timeout: timeout, next: cfg.ConnConfig.Tracer}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	s := &Store{pool: pool, db: pool, timeout: timeout}
	s.liveness = newCoalescer(livenessInFlight, livenessBatch, livenessStallAfter, s.readOneLiveness, s.readLiveness)
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Option changes the pool configuration Open uses.
type Option func(*pgxpool.Config)

// WithTracer installs a pgx tracer on every connection of the pool. A
// tracer that also implements pgx.BatchTracer sees batches (and
// pgx.PrepareTracer, preparations); tests use it to count round trips per
// request. Open puts its own deadline tracer in front of it.
func WithTracer(t pgx.QueryTracer) Option {
	return func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = t }
}

// PoolStats is a snapshot of the connection pool, for metrics.
type PoolStats struct {
	MaxConns        int32         // the pool's size limit
	TotalConns      int32         // open connections
	IdleConns       int32         // open and unused
	AcquiredConns   int32         // in use
	AcquireCount    int64         // successful acquires since start
	EmptyAcquires   int64         // acquires that had to wait or connect
	AcquireDuration time.Duration // total time spent acquiring
}

// PoolStats returns the connection pool's current statistics.
func (s *Store) PoolStats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		MaxConns: st.MaxConns(), TotalConns: st.TotalConns(), IdleConns: st.IdleConns(),
		AcquiredConns: st.AcquiredConns(), AcquireCount: st.AcquireCount(),
		EmptyAcquires: st.EmptyAcquireCount(), AcquireDuration: st.AcquireDuration(),
	}
}

// ServerMaxConnections returns the server's max_connections setting.
func (s *Store) ServerMaxConnections(ctx context.Context) (int32, error) {
	var n int32
	if err := s.db.QueryRow(ctx, `SELECT current_setting('max_connections')::int`).Scan(&n); err != nil {
		return 0, wrapErr(err, "read max_connections")
	}
	return n, nil
}

// poolConfig parses dsn and fills in monban's defaults.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = defaultApplicationName
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(DefaultStatementTimeout.Milliseconds(), 10)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// Return timestamptz values in UTC rather than time.Local.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	return cfg, nil
}

// Close closes every connection of the pool. It waits for connections in
// use to be released; reads queued for a coalesced statement fail.
func (s *Store) Close() {
	s.liveness.close()
	s.pool.Close()
}

// Ping checks that the database answers a query, within the store's
// bound.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// notFoundOr reports why an UPDATE matched no row: ErrNotFound if the
// existence query finds no row, else the error conflict (typically
// storage.ErrConflict). The result is wrapped with the operation's context.
func (s *Store) notFoundOr(ctx context.Context, conflict error, existsSQL string, arg any, format string, args ...any) error {
	var exists bool
	if err := s.db.QueryRow(ctx, existsSQL, arg).Scan(&exists); err != nil {
		return wrapErr(err, format, args...)
	}
	if !exists {
		return wrapErr(pgx.ErrNoRows, format, args...)
	}
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), conflict)
}

// affected returns ErrNotFound (wrapped) when a statement touched no row.
func affected(n int64, format string, args ...any) error {
	if n == 0 {
		return wrapErr(pgx.ErrNoRows, format, args...)
	}
	return nil
}
