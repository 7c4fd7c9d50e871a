package app

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/janitor"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
)

// testConfig is Defaults on a memory store with cheap password hashing.
func testConfig(store storage.Store) Config {
	cfg := Defaults()
	cfg.Issuer = "http://localhost:8080"
	cfg.Store = store
	cfg.KEK = keys.RandomKeyEncryptionKeys()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Hasher = password.NewHasher(password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	return cfg
}

// TestCloseWaitsForEveryJob: Run starts every background loop (keys,
// back-channel worker with the session sweep, janitor) under one runner,
// and Close returns only after each of them has observed the cancellation
// and returned.
func TestCloseWaitsForEveryJob(t *testing.T) {
	a, err := New(t.Context(), testConfig(memory.New()))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"keys", "worker", "janitor"}; !slices.Equal(a.Jobs(), want) {
		t.Fatalf("jobs = %v, want %v", a.Jobs(), want)
	}
	// A probe beside the real jobs tells when Run has started them all.
	started := make(chan struct{})
	a.runner.Add("probe", func(ctx context.Context) { close(started); <-ctx.Done() })
	ran := make(chan error, 1)
	go func() { ran <- a.Run(context.Background()) }() // only Close stops it
	<-started
	if got, want := a.runner.Running(), len(a.Jobs()); got != want {
		t.Fatalf("%d jobs running after Run started them, want %d", got, want)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := a.runner.Running(); got != 0 {
		t.Fatalf("Close returned with %d jobs still running", got)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := a.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}

// TestRunStopsWithContext: Run returns once ctx ends and its jobs have
// returned.
func TestRunStopsWithContext(t *testing.T) {
	a, err := New(t.Context(), testConfig(memory.New()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	a.runner.Add("probe", func(ctx context.Context) { close(started); <-ctx.Done() })
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	<-started
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := a.runner.Running(); got != 0 {
		t.Fatalf("Run returned with %d jobs still running", got)
	}
}

// TestAuditRetentionZeroMeansForever: zero audit retention keeps audit
// entries forever in the app as in the configuration file and the janitor
// (it once meant "forever" in one layer and "the default" in another);
// the one-year default comes from Defaults only.
func TestAuditRetentionZeroMeansForever(t *testing.T) {
	if got := Defaults().AuditRetention; got != janitor.DefaultAuditRetention {
		t.Fatalf("Defaults().AuditRetention = %s, want %s", got, janitor.DefaultAuditRetention)
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		retention time.Duration
		wantLeft  int
	}{
		{"zero-keeps-forever", 0, 2},
		{"default-one-year", Defaults().AuditRetention, 1},
		{"thirty-days", 30 * 24 * time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := memory.New()
			now := start
			for i, age := range []time.Duration{400 * 24 * time.Hour, 40 * 24 * time.Hour} {
				if err := store.AppendAudit(t.Context(), &storage.AuditEntry{ID: "audit-" + string(rune('a'+i)),
					Time: now.Add(-age), Action: storage.ActionSignIn}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(store)
			cfg.Now = func() time.Time { return now }
			cfg.AuditRetention = tc.retention
			a, err := New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			if _, err := a.Janitor().Step(t.Context()); err != nil {
				t.Fatal(err)
			}
			left, err := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10)
			if err != nil || len(left) != tc.wantLeft {
				t.Fatalf("%d audit entries left (%v), want %d", len(left), err, tc.wantLeft)
			}
		})
	}
}

// TestWithDefaults: a zero setting without a meaning of its own takes the
// default; a setting whose zero means something keeps it.
func TestWithDefaults(t *testing.T) {
	got := Config{RefreshReuseGrace: 0, AuditRetention: 0, ShutdownDelay: 0}.withDefaults()
	d := Defaults()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"session-idle", got.SessionIdleTimeout, d.SessionIdleTimeout},
		{"session-max-age", got.SessionMaxAge, d.SessionMaxAge},
		{"key-rotation-period", got.KeyRotationPeriod, d.KeyRotationPeriod},
		{"admin-fresh-auth", got.AdminFreshAuth, d.AdminFreshAuth},
		{"access-token-alg", got.AccessTokenAlg, d.AccessTokenAlg},
		{"audit-retention-zero-stays-forever", got.AuditRetention, time.Duration(0)},
		{"refresh-grace-zero-stays-off", got.RefreshReuseGrace, time.Duration(0)},
		{"shutdown-delay-zero-stays", got.ShutdownDelay, time.Duration(0)},
		{"management-listen-empty-stays-off", got.ManagementListen, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}
