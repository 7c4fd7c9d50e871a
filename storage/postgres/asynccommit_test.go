package postgres

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/storage"
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

// TestCreateSessionAuthRequestCommitsAsyncOnlyOnItsOwn: on its own the
// authorize transaction commits asynchronously; inside Atomically it
// leaves the caller's transaction synchronous.
func TestCreateSessionAuthRequestCommitsAsyncOnlyOnItsOwn(t *testing.T) {
	s, err := Open(t.Context(), pgtest.NewDatabase(t), func(c *pgxpool.Config) { c.MaxConns = 1 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := t.Context()
	now := time.Now().UTC()
	for _, err := range []error{
		s.CreateUser(ctx, &storage.User{ID: "u1", Username: "alice", CreatedAt: now, UpdatedAt: now}),
		s.CreateClient(ctx, &storage.Client{ID: "c1", AuthMethod: storage.AuthMethodNone, CreatedAt: now, UpdatedAt: now}),
		s.CreateSession(ctx, &storage.Session{ID: "s1", TokenHash: "h1", UserID: "u1", AuthTime: now, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec(ctx, `SET synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	req := func(id string) *storage.AuthRequest {
		return &storage.AuthRequest{ID: id, ClientID: "c1", RedirectURI: "https://c1.test/cb", CreatedAt: now,
			ExpiresAt: now.Add(time.Minute), UserID: "u1", SessionID: "s1", AuthTime: now}
	}
	var inTx string
	if err := s.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateSessionAuthRequest(ctx, req("r1")); err != nil {
			return err
		}
		return tx.(*Store).db.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&inTx)
	}); err != nil {
		t.Fatal(err)
	}
	if inTx != "on" {
		t.Errorf("synchronous_commit inside Atomically after CreateSessionAuthRequest = %q, want on", inTx)
	}
	if err := s.CreateSessionAuthRequest(ctx, req("r2")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := s.GetAuthRequest(ctx, id); err != nil {
			t.Errorf("GetAuthRequest(%s): %v", id, err)
		}
	}
}
