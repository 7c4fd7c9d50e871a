package postgres

import (
	"context"
	"runtime"
)

// XactCounter returns one of the backend's pending statistics counters
// of refresh_tokens (pg_stat_get_xact_tuples_<name>), for tests that run
// inside Atomically.
func (s *Store) XactCounter(ctx context.Context, name string) (n int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT CASE $1
		WHEN 'hot_updated' THEN pg_stat_get_xact_tuples_hot_updated('refresh_tokens'::regclass)
		WHEN 'updated' THEN pg_stat_get_xact_tuples_updated('refresh_tokens'::regclass)
		WHEN 'inserted' THEN pg_stat_get_xact_tuples_inserted('refresh_tokens'::regclass) END`, name).Scan(&n)
	return n, err
}

// SetLivenessCoalescing replaces the coalescer of LivenessVersion, for
// tests and benchmarks comparing settings: at most inFlight statements
// at once, batch keys in each; inFlight 0 reads every call alone.
func SetLivenessCoalescing(s *Store, inFlight, batch int) {
	s.liveness.close()
	s.liveness = nil
	if inFlight > 0 {
		s.liveness = newCoalescer(inFlight, batch, 0, s.readOneLiveness, s.readLiveness)
	}
}

// HoldLiveness waits until the liveness coalescer is idle (a batch
// goroutine may still be finishing), then occupies every slot, as reads
// in flight would, so that calls queue; release frees the slots, which
// starts the queued batches.
func HoldLiveness(s *Store) (release func()) { return hold(s.liveness) }

func hold[K, V any](c *coalescer[K, V]) (release func()) {
	c.mu.Lock()
	for len(c.busy) > 0 {
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	held := make([]*slot, c.maxInFlight)
	for i := range held {
		held[i] = c.acquire(c.now())
	}
	c.mu.Unlock()
	return func() {
		for _, sl := range held {
			c.release(sl)
		}
	}
}

// LivenessWaiting returns how many calls wait in the liveness
// coalescer's queue.
func LivenessWaiting(s *Store) int { return waiting(s.liveness) }

func waiting[K, V any](c *coalescer[K, V]) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.queue {
		n += b.waiting
	}
	return n
}

// ClosePool closes the store's pool alone, leaving the coalescer
// running, so that their next statement fails.
func ClosePool(s *Store) { s.pool.Close() }

// ResetLivenessCoalescing puts back the coalescer Open makes.
func ResetLivenessCoalescing(s *Store) {
	s.liveness.close()
	s.liveness = newCoalescer(livenessInFlight, livenessBatch, livenessStallAfter, s.readOneLiveness, s.readLiveness)
}
