package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// liveKey is a LivenessVersion call; liveResult its answer.
type (
	liveKey    struct{ jti, user string }
	liveResult struct {
		version int64
		revoked bool
		err     error
	}
)

// openCounted returns a store on a fresh database with a round-trip
// counter, and the database's DSN.
func openCounted(t *testing.T) (*postgres.Store, *postgres.RoundTripCounter, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	counter := &postgres.RoundTripCounter{}
	s, err := postgres.Open(t.Context(), dsn, postgres.WithTracer(counter))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, counter, dsn
}

// liveKeys seeds 8 users (every third with a moved version) and denies
// every fourth of 32 jtis; it returns n calls over them, mixed, with
// the unknown user and the empty jti among them.
func liveKeys(t *testing.T, s storage.Store, n int) []liveKey {
	t.Helper()
	ctx := t.Context()
	for i := range 8 {
		id := "user-" + strconv.Itoa(i)
		mustOK(t, s.CreateUser(ctx, &storage.User{ID: id, Username: id, CreatedAt: t0, UpdatedAt: t0}), "CreateUser")
		for range i % 3 {
			_, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.Name += "x"; return nil })
			mustOK(t, err, "UpdateUser")
		}
	}
	for i := 0; i < 32; i += 4 {
		mustOK(t, s.RevokeAccessToken(ctx, "jti-"+strconv.Itoa(i), t0.Add(time.Hour)), "RevokeAccessToken")
	}
	keys := make([]liveKey, n)
	for i := range keys {
		keys[i] = liveKey{"jti-" + strconv.Itoa(i%32), "user-" + strconv.Itoa(i%9)} // user-8 does not exist
		if i%10 == 9 {
			keys[i].jti = ""
		}
	}
	return keys
}

// directly reads each key on a transaction, where nothing is coalesced.
func directly(t *testing.T, s storage.Store, keys []liveKey) []liveResult {
	t.Helper()
	want := make([]liveResult, len(keys))
	mustOK(t, s.Atomically(t.Context(), func(tx storage.Store) error {
		for i, k := range keys {
			v, revoked, err := tx.LivenessVersion(t.Context(), k.jti, k.user)
			if err != nil {
				return err
			}
			want[i] = liveResult{version: v, revoked: revoked}
		}
		return nil
	}), "direct reads")
	return want
}

// queueCalls starts a LivenessVersion call per key while the store's
// slots are held, waits until all of them are queued, and returns a
// function that waits for their results (in the keys' order).
func queueCalls(t *testing.T, s *postgres.Store, ctxs []context.Context, keys []liveKey) func() []liveResult {
	t.Helper()
	got := make([]liveResult, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		ctx := t.Context()
		if ctxs != nil && ctxs[i] != nil {
			ctx = ctxs[i]
		}
		wg.Go(func() {
			v, revoked, err := s.LivenessVersion(ctx, k.jti, k.user)
			got[i] = liveResult{v, revoked, err}
		})
	}
	waitQueued(s, len(keys))
	return func() []liveResult { wg.Wait(); return got }
}

// waitQueued waits (without a time limit: the test's own applies) until
// n calls wait in the liveness queue.
func waitQueued(s *postgres.Store, n int) {
	for postgres.LivenessWaiting(s) != n {
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// TestLivenessCoalesced: calls queued behind a read in flight are read
// together, in statements of at most the batch size, and each gets
// exactly what a read of its own returns.
func TestLivenessCoalesced(t *testing.T) {
	for _, tc := range []struct {
		name            string
		callers         int
		inFlight, batch int
		wantTrips       int64
	}{
		{"one statement for all", 64, 1, 128, 1},
		{"batches are bounded", 64, 1, 16, 4},
		{"batches run side by side", 64, 4, 16, 4},
		{"a caller queued alone reads alone", 1, 1, 128, 1},
		{"a partial last batch", 50, 2, 16, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, counter, _ := openCounted(t)
			keys := liveKeys(t, s, tc.callers)
			want := directly(t, s, keys)
			postgres.SetLivenessCoalescing(s, tc.inFlight, tc.batch)
			release := postgres.HoldLiveness(s)
			wait := queueCalls(t, s, nil, keys)
			counter.Reset()
			release()
			got := wait()
			for i := range keys {
				if got[i] != want[i] {
					t.Errorf("call %d %+v = %+v, want %+v", i, keys[i], got[i], want[i])
				}
			}
			if n := counter.RoundTrips(); n != tc.wantTrips {
				t.Errorf("%d calls took %d statements, want %d", tc.callers, n, tc.wantTrips)
			}
		})
	}
}

// TestLivenessConcurrent: 64 goroutines calling at once, as they come,
// each get exactly the result of a direct read.
func TestLivenessConcurrent(t *testing.T) {
	for _, inFlight := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("inflight=%d", inFlight), func(t *testing.T) {
			s, _, _ := openCounted(t)
			keys := liveKeys(t, s, 64*8)
			want := directly(t, s, keys)
			postgres.SetLivenessCoalescing(s, inFlight, 16)
			var wg sync.WaitGroup
			for g := range 64 {
				wg.Go(func() {
					for i := g; i < len(keys); i += 64 {
						v, revoked, err := s.LivenessVersion(t.Context(), keys[i].jti, keys[i].user)
						if got := (liveResult{v, revoked, err}); got != want[i] {
							t.Errorf("call %d %+v = %+v, want %+v", i, keys[i], got, want[i])
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestLivenessSeesEarlierRevocations: a revocation committed (through
// another replica) before a call begins is seen by that call, while
// other callers keep the coalescer busy, so that calls queue behind
// reads that started before them; and deterministically, with a read
// held in flight.
func TestLivenessSeesEarlierRevocations(t *testing.T) {
	s, _, dsn := openCounted(t)
	liveKeys(t, s, 0)
	writer, err := postgres.Open(t.Context(), dsn)
	mustOK(t, err, "Open the writer")
	t.Cleanup(writer.Close)
	ctx := t.Context()

	// check revokes, through the writer, jti and the user's session
	// (moving the user's version), then reads both on s.
	var sessions int
	check := func(t *testing.T, jti string, read func() (int64, bool, error)) {
		t.Helper()
		before, _, err := writer.LivenessVersion(ctx, "", "user-1")
		mustOK(t, err, "LivenessVersion before")
		sessions++
		ss := &storage.Session{ID: "s" + strconv.Itoa(sessions), TokenHash: "h" + strconv.Itoa(sessions), UserID: "user-1",
			AuthTime: t0, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		mustOK(t, writer.CreateSession(ctx, ss), "CreateSession")
		mustOK(t, writer.RevokeSession(ctx, ss.ID, t0), "RevokeSession")
		mustOK(t, writer.RevokeAccessToken(ctx, jti, t0.Add(time.Hour)), "RevokeAccessToken")
		v, revoked, err := read()
		mustOK(t, err, "LivenessVersion after")
		if !revoked || v <= before {
			t.Fatalf("after the revocations: version %d (before %d), revoked %v; want a later version, revoked", v, before, revoked)
		}
	}

	for _, tc := range []struct {
		name  string
		setUp func()
	}{
		{"under load, one statement in flight", func() { postgres.SetLivenessCoalescing(s, 1, 128) }},
		// A second statement once the first has stalled, as Open sets it up.
		{"under load, as Open sets it up", func() { postgres.ResetLivenessCoalescing(s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setUp()
			loadCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := 0; loadCtx.Err() == nil; i++ {
						_, _, _ = s.LivenessVersion(loadCtx, "jti-"+strconv.Itoa(i), "user-"+strconv.Itoa(g))
					}
				})
			}
			defer func() { stop(); wg.Wait() }()
			for i := range 200 {
				jti := "load-" + tc.name + "-" + strconv.Itoa(i)
				check(t, jti, func() (int64, bool, error) { return s.LivenessVersion(ctx, jti, "user-1") })
			}
		})
	}
	t.Run("queued behind a read in flight", func(t *testing.T) {
		postgres.SetLivenessCoalescing(s, 1, 128)
		for i := range 20 {
			jti := "held-" + strconv.Itoa(i)
			release := postgres.HoldLiveness(s) // a read that started before the revocations
			check(t, jti, func() (int64, bool, error) {
				wait := queueCalls(t, s, nil, []liveKey{{jti, "user-1"}})
				release()
				r := wait()[0]
				return r.version, r.revoked, r.err
			})
		}
	})
}

// TestLivenessWaiterCancelled: a queued caller whose context ends
// returns its context's error while the read it waits for has not even
// started; the others get their results; a batch nobody waits for any
// more is not read at all.
func TestLivenessWaiterCancelled(t *testing.T) {
	for _, tc := range []struct {
		name      string
		callers   int
		wantTrips int64
	}{
		{"others unaffected", 3, 1},
		{"nobody left", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, counter, _ := openCounted(t)
			keys := liveKeys(t, s, tc.callers)
			want := directly(t, s, keys)
			postgres.SetLivenessCoalescing(s, 1, 128)
			release := postgres.HoldLiveness(s)
			first, cancel := context.WithCancel(t.Context())
			ctxs := make([]context.Context, len(keys))
			ctxs[0] = first
			wait := queueCalls(t, s, ctxs, keys)
			cancel()
			waitQueued(s, len(keys)-1) // the cancelled caller has left the queue
			counter.Reset()
			release()
			got := wait()
			if !errors.Is(got[0].err, context.Canceled) {
				t.Errorf("cancelled caller: %+v, want context.Canceled", got[0])
			}
			for i := 1; i < len(keys); i++ {
				if got[i] != want[i] {
					t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			if n := counter.RoundTrips(); n != tc.wantTrips {
				t.Errorf("statements = %d, want %d", n, tc.wantTrips)
			}
		})
	}
}

// TestLivenessFailures: a failed statement, or the store closing, fails
// every caller queued for it with an error, never a value; so does a
// call made afterwards.
func TestLivenessFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(s *postgres.Store)
	}{
		{"statement fails", postgres.ClosePool},
		{"store closes", (*postgres.Store).Close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := openCounted(t)
			keys := liveKeys(t, s, 8)
			postgres.SetLivenessCoalescing(s, 1, 128)
			release := postgres.HoldLiveness(s)
			wait := queueCalls(t, s, nil, keys)
			tc.fail(s)
			release()
			for i, r := range wait() {
				if r.err == nil {
					t.Errorf("call %d = %+v, want an error", i, r)
				}
			}
			if _, _, err := s.LivenessVersion(t.Context(), "jti-1", "user-1"); err == nil {
				t.Error("a call after the failure succeeded")
			}
		})
	}
}
