package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestAsyncCommitIsLocalToTheBatch: asyncCommit first in a batch turns
// synchronous_commit off for that batch's implicit transaction only; the
// connection, back in the pool, commits synchronously again. The batch is
// one transaction: a later write in it commits asynchronously too.
func TestAsyncCommitIsLocalToTheBatch(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), func(c *pgxpool.Config) { c.MaxConns = 1 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := t.Context()
	// pgtest's cluster runs with synchronous_commit off; the one
	// connection's session default is set back to on.
	if _, err := s.db.Exec(ctx, `SET synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue(asyncCommit)
	var inBatch, after string
	b.Queue(`SELECT current_setting('synchronous_commit')`).QueryRow(func(r pgx.Row) error { return r.Scan(&inBatch) })
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if inBatch != "off" || after != "on" {
		t.Errorf("synchronous_commit in the batch %q, after it %q; want off, on", inBatch, after)
	}
}
