package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// errClosed is the error of a read still queued when the store closes.
var errClosed = errors.New("store closed")

// coalescer merges concurrent reads of one kind into few statements,
// the way group commit merges WAL flushes ("natural batching", issue
// #21): a call that finds no read running reads at once, alone, on its
// caller's goroutine (no added latency when quiet); a call that finds one
// running joins the queue, and whenever a read finishes, the calls queued
// meanwhile are read together, on a goroutine of their own, up to
// maxBatch keys per statement. A further read (up to maxInFlight) starts
// beside those running only when each of them has run for stallAfter: a
// statement stalled on its connection does not hold every read for
// longer than that, while under load one statement at a time batches the
// most. The first call to find the reads stalled joins the queue and
// starts its first batch in the new slot.
//
// Freshness: a queued call is read by a statement that starts after the
// call joined the queue, so every call sees everything committed before
// it began, as a read of its own would. Each statement reads all its keys
// from one snapshot.
//
// A caller whose context ends while queued returns its context's error at
// once; the others are unaffected. A failed statement fails every call in
// it. Batches run without any caller's cancellation (each caller may
// leave; the statement is bounded by the store's deadline tracer).
type coalescer[K, V any] struct {
	// one reads a key alone, with its caller's context.
	one func(ctx context.Context, key K) (V, error)
	// many reads keys in one statement and returns their values in the
	// same order; its context is context.Background().
	many        func(ctx context.Context, keys []K) ([]V, error)
	maxInFlight int
	maxBatch    int
	stallAfter  time.Duration    // 0: every slot opens at once
	now         func() time.Time // time.Now; tests replace it

	mu      sync.Mutex
	busy    []*slot        // reads running, alone or batched
	queue   []*batch[K, V] // waiting to run; only the last one takes keys
	closed  bool
	running sync.WaitGroup // goroutines running batches
}

// slot is one read in flight: a call alone, or a goroutine running queued
// batches one after the other.
type slot struct {
	since time.Time // when its current statement started
}

// batch is one statement's worth of queued calls.
type batch[K, V any] struct {
	keys    []K
	vals    []V
	err     error
	waiting int           // callers still waiting; 0 drops a batch not started
	done    chan struct{} // closed when vals or err is set
}

// newCoalescer returns a coalescer reading keys with one (alone) and
// many (together), with at most maxInFlight statements at once, more
// than one only once those running have run for stallAfter, and at most
// maxBatch keys in each.
func newCoalescer[K, V any](maxInFlight, maxBatch int, stallAfter time.Duration, one func(context.Context, K) (V, error),
	many func(context.Context, []K) ([]V, error)) *coalescer[K, V] {
	return &coalescer[K, V]{one: one, many: many, maxInFlight: max(1, maxInFlight), maxBatch: max(1, maxBatch),
		stallAfter: stallAfter, now: time.Now}
}

// do reads key, alone or with other callers' keys.
func (c *coalescer[K, V]) do(ctx context.Context, key K) (V, error) {
	var zero V
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.one(ctx, key)
	}
	now := c.now()
	open := c.slotOpen(now)
	if open && len(c.queue) == 0 {
		sl := c.acquire(now)
		c.mu.Unlock()
		v, err := c.one(ctx, key)
		c.release(sl)
		return v, err
	}
	b := c.join(key)
	i := len(b.keys) - 1
	b.waiting++
	if open { // the reads running have stalled with calls queued: a new slot takes them
		sl := c.acquire(now)
		head := c.take(sl, now, true)
		c.mu.Unlock()
		go c.run(sl, head)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-b.done:
		if b.err != nil {
			return zero, b.err
		}
		return b.vals[i], nil
	case <-ctx.Done():
		c.leave(b)
		return zero, ctx.Err()
	}
}

// join adds key to the last queued batch, or to a new one when that is
// full or there is none. The caller holds c.mu.
func (c *coalescer[K, V]) join(key K) *batch[K, V] {
	if n := len(c.queue); n == 0 || len(c.queue[n-1].keys) >= c.maxBatch {
		c.queue = append(c.queue, &batch[K, V]{keys: make([]K, 0, min(c.maxBatch, 16)), done: make(chan struct{})})
	}
	b := c.queue[len(c.queue)-1]
	b.keys = append(b.keys, key)
	return b
}

// leave is a queued caller giving up: a batch nobody waits for any more
// is dropped if it has not started. (Its key stays in a batch others
// still wait for, which is read and ignored.)
func (c *coalescer[K, V]) leave(b *batch[K, V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.waiting--; b.waiting > 0 {
		return
	}
	for i, q := range c.queue {
		if q == b {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			return
		}
	}
}

// slotOpen reports whether a read may start at now: a slot is free and
// every read running has run for stallAfter. The caller holds c.mu.
func (c *coalescer[K, V]) slotOpen(now time.Time) bool {
	if len(c.busy) >= c.maxInFlight {
		return false
	}
	for _, sl := range c.busy {
		if now.Sub(sl.since) < c.stallAfter {
			return false
		}
	}
	return true
}

// acquire occupies a slot from now. The caller holds c.mu.
func (c *coalescer[K, V]) acquire(now time.Time) *slot {
	sl := &slot{since: now}
	c.busy = append(c.busy, sl)
	return sl
}

// release frees sl, the slot of a read that ran alone; if calls are
// queued, the slot passes to their batch, run on a goroutine of its own.
func (c *coalescer[K, V]) release(sl *slot) {
	if b := c.next(sl, true); b != nil {
		go c.run(sl, b)
	}
}

// next takes the first queued batch for sl, or frees sl when none waits
// (or the coalescer is closed). spawn counts the goroutine that is to
// run the batch, under the lock, so that close waits for it.
func (c *coalescer[K, V]) next(sl *slot, spawn bool) *batch[K, V] {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 || c.closed {
		c.busy = slices.DeleteFunc(c.busy, func(s *slot) bool { return s == sl })
		return nil
	}
	return c.take(sl, c.now(), spawn)
}

// take removes the first queued batch, to be read by sl from now. The
// caller holds c.mu and knows the queue is not empty.
func (c *coalescer[K, V]) take(sl *slot, now time.Time, spawn bool) *batch[K, V] {
	b := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	sl.since = now
	if spawn {
		c.running.Add(1)
	}
	return b
}

// run reads b and then each batch queued meanwhile, in slot sl, until
// none waits.
func (c *coalescer[K, V]) run(sl *slot, b *batch[K, V]) {
	defer c.running.Done()
	for ; b != nil; b = c.next(sl, false) {
		if len(b.keys) == 1 {
			var v V
			v, b.err = c.one(context.Background(), b.keys[0])
			b.vals = []V{v}
		} else {
			b.vals, b.err = c.many(context.Background(), b.keys)
		}
		if b.err == nil && len(b.vals) != len(b.keys) {
			b.err = fmt.Errorf("read returned %d values for %d keys", len(b.vals), len(b.keys))
		}
		close(b.done)
	}
}

// close fails the queued calls and waits for the batches running (each
// bounded by the store's deadline tracer); calls made after it read
// alone. A nil coalescer (a Store of Atomically) has nothing to close.
func (c *coalescer[K, V]) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	queued := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, b := range queued {
		b.err = errClosed
		close(b.done)
	}
	c.running.Wait()
}
