package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// hangBound is how long any store call may take against a hung server
// before the test calls it a hang. The store's own bound is about 2.5 s
// (DefaultStatementTimeout plus slack); this is generous on purpose: it
// tells "answers" from "hangs", it does not measure.
const hangBound = 10 * time.Second

// within runs f and fails the test if it has not returned within
// hangBound; it returns f's error.
func within(t *testing.T, what string, f func(context.Context) error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f(context.Background()) }() // no deadline of the caller's: the store's own must hold
	select {
	case err := <-done:
		return err
	case <-time.After(hangBound):
		t.Fatalf("%s: no answer within %s from a hung database", what, hangBound)
		return nil
	}
}

// TestChecklistR1HungServer: with the PostgreSQL processes stopped
// (SIGSTOP: connections are accepted, nothing answers), every kind of
// store call fails within a bound instead of waiting as long as its
// caller does, on pooled connections and on new ones alike; once the
// server continues, the same store works again (issue #13 item 9,
// checklist R1 "connections hang").
func TestChecklistR1HungServer(t *testing.T) {
	s := open(t)
	seed(t, s)
	// Two pooled connections, so the first calls find idle ones and later
	// ones must open new connections to the hung server.
	mustOK(t, s.Ping(t.Context()), "Ping")

	pgtest.SuspendServer(t)
	calls := []struct {
		name string
		f    func(context.Context) error
	}{
		{"R1/hang/ping", s.Ping},
		{"R1/hang/query-row", func(ctx context.Context) error { _, err := s.GetClient(ctx, "c1"); return err }},
		{"R1/hang/query", func(ctx context.Context) error { _, err := s.ListUsers(ctx); return err }},
		{"R1/hang/exec", func(ctx context.Context) error {
			return s.CreateUser(ctx, &storage.User{ID: "u2", Username: "bob", CreatedAt: t0, UpdatedAt: t0})
		}},
		{"R1/hang/transaction", func(ctx context.Context) error {
			return s.Atomically(ctx, func(tx storage.Store) error { _, err := tx.GetUser(ctx, "u1"); return err })
		}},
		{"R1/hang/new-connections", func(ctx context.Context) error { _, err := s.GetUser(ctx, "u1"); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := within(t, c.name, c.f)
			if err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s against a hung database: %v, want a failure", c.name, err)
			}
		})
	}

	pgtest.ResumeServer(t)
	t.Run("R1/hang/recovers", func(t *testing.T) {
		var err error
		for range 10 {
			if err = within(t, "Ping after resume", s.Ping); err == nil {
				break
			}
		}
		mustOK(t, err, "Ping after resume")
		if _, err := s.GetClient(t.Context(), "c1"); err != nil {
			t.Fatalf("GetClient after resume: %v", err)
		}
	})
}
