package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
	"github.com/monban-idp/monban/storage/storagetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open returns a store on a fresh, migrated database.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
}

var t0 = time.Date(2030, time.March, 14, 15, 9, 26, 535897000, time.UTC)

func mustOK(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// seed creates a user and a client for rows that reference them.
func seed(t *testing.T, s *postgres.Store) {
	t.Helper()
	ctx := t.Context()
	mustOK(t, s.CreateUser(ctx, &storage.User{ID: "u1", Username: "alice", CreatedAt: t0, UpdatedAt: t0}), "CreateUser")
	mustOK(t, s.CreateClient(ctx, &storage.Client{ID: "c1", AuthMethod: storage.AuthMethodNone, CreatedAt: t0, UpdatedAt: t0}), "CreateClient")
}

// A long chain of rotations replayed from its middle revokes the whole
// chain, including tokens created before and after the replayed one.
func TestReplayInLongChainRevokesAll(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	seed(t, s)
	tok := func(i int) *storage.RefreshToken {
		return &storage.RefreshToken{
			ID: "t" + string(rune('a'+i)), TokenHash: "hash-" + string(rune('a'+i)), FamilyID: "f1", ClientID: "c1",
			UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), FamilyExpiresAt: t0.Add(24 * time.Hour),
		}
	}
	mustOK(t, s.CreateRefreshToken(ctx, tok(0)), "CreateRefreshToken")
	const n = 10
	for i := 1; i < n; i++ {
		_, err := s.RotateRefreshToken(ctx, tok(i-1).TokenHash, tok(i), t0.Add(time.Duration(i)*time.Second), storage.ReuseGrace{})
		mustOK(t, err, "RotateRefreshToken")
	}
	replay := t0.Add(time.Minute)
	if _, err := s.RotateRefreshToken(ctx, tok(4).TokenHash, tok(n), replay, storage.ReuseGrace{}); !errors.Is(err, storage.ErrTokenReused) {
		t.Fatalf("replay = %v, want ErrTokenReused", err)
	}
	for i := range n {
		got, err := s.GetRefreshToken(ctx, tok(i).TokenHash)
		mustOK(t, err, "GetRefreshToken")
		if !got.RevokedAt.Equal(replay) {
			t.Errorf("token %d RevokedAt = %v, want %v", i, got.RevokedAt, replay)
		}
	}
}

func TestOpenFails(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
	}{
		{"unparsable DSN", "postgres://%zz"},
		{"bad pool setting", pgtest.NewDatabase(t) + " pool_max_conns=zero"},
		{"no such database", pgtest.NewDatabase(t) + " dbname=monban_no_such_database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// The database going away and coming back: Ping reports it, and the same
// pool works again afterwards without reopening the store. Each pooled
// connection that the restart broke fails one use and is then discarded,
// so a bounded number of attempts must succeed.
func TestServerOutage(t *testing.T) {
	s := open(t)
	mustOK(t, s.Ping(t.Context()), "Ping before the outage")

	pgtest.StopServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping during the outage succeeded")
	}

	pgtest.StartServer(t)
	var err error
	for range 5 {
		if err = s.Ping(t.Context()); err == nil {
			break
		}
	}
	mustOK(t, err, "Ping after the outage")
	_, err = s.ListUsers(t.Context())
	mustOK(t, err, "ListUsers after the outage")
}

// TestServerMaxConnections reads the server's limit that serve compares
// its pool with (checklist R13).
func TestServerMaxConnections(t *testing.T) {
	n, err := open(t).ServerMaxConnections(t.Context())
	if err != nil || n < 1 {
		t.Fatalf("ServerMaxConnections = %d, %v", n, err)
	}
}

// TestAtomically: changes made through Atomically commit together, or
// not at all when fn fails (an admin change and its audit entry,
// checklist R8); the error of fn comes back unchanged, and methods with
// transactions of their own work inside (as savepoints).
func TestAtomically(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	client := func(id string) *storage.Client {
		return &storage.Client{ID: id, Name: id, AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{"https://" + id + ".test/cb"}, CreatedAt: now, UpdatedAt: now}
	}
	audit := func(id string) *storage.AuditEntry {
		return &storage.AuditEntry{ID: id, Time: now, Action: "client.create", Target: "client:" + id}
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		fn      func(tx storage.Store) error
		wantErr error
	}{
		{"both-commit", func(tx storage.Store) error {
			if err := tx.CreateClient(ctx, client("c1")); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, audit("c1"))
		}, nil},
		{"audit-fails-change-rolled-back", func(tx storage.Store) error {
			if err := tx.CreateClient(ctx, client("c2")); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, audit("c1")) // the ID is taken
		}, storage.ErrAlreadyExists},
		{"fn-error-returned-unchanged", func(tx storage.Store) error {
			if err := tx.CreateClient(ctx, client("c3")); err != nil {
				return err
			}
			return boom
		}, boom},
		{"nested-transaction-as-savepoint", func(tx storage.Store) error {
			if err := tx.CreateClient(ctx, client("c4")); err != nil {
				return err
			}
			if _, _, err := tx.RecordLoginFailure(ctx, "client:c4", now, storage.ThrottlePolicy{Window: time.Minute, Free: 5,
				Delay: time.Second, MaxDelay: time.Minute}); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, audit("c4"))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Atomically(ctx, tc.fn)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Atomically = %v, want %v", err, tc.wantErr)
			}
		})
	}
	for _, c := range []struct {
		id          string
		wantClient  bool
		wantEntries int
	}{{"c1", true, 1}, {"c2", false, 0}, {"c3", false, 0}, {"c4", true, 1}} {
		_, err := s.GetClient(ctx, c.id)
		if (err == nil) != c.wantClient {
			t.Errorf("client %s: %v, want present %v", c.id, err, c.wantClient)
		}
		got, err := s.ListAudit(ctx, storage.AuditFilter{Target: "client:" + c.id}, 0, 10)
		if err != nil || len(got) != c.wantEntries {
			t.Errorf("audit entries for %s: %d, %v; want %d", c.id, len(got), err, c.wantEntries)
		}
	}
}

// TestReplicas: two stores (two pools, as two replicas have) on one
// database.
func TestReplicas(t *testing.T) {
	storagetest.RunReplicas(t, func(t *testing.T) (storage.Store, storage.Store) {
		dsn := pgtest.NewDatabase(t)
		stores := [2]storage.Store{}
		for i := range stores {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(s.Close)
			stores[i] = s
		}
		return stores[0], stores[1]
	})
}
