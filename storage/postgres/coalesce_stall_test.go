package postgres

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedReads is a coalescer's one and many for tests: every read records
// its keys and waits until its gate opens.
type gatedReads struct {
	mu    sync.Mutex
	reads [][]string // keys of each read started, in order
	gates map[string]chan struct{}
}

func newGatedReads() *gatedReads { return &gatedReads{gates: map[string]chan struct{}{}} }

// gate returns the channel that holds a read whose first key is k.
func (g *gatedReads) gate(k string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[k] == nil {
		g.gates[k] = make(chan struct{})
	}
	return g.gates[k]
}

func (g *gatedReads) many(_ context.Context, keys []string) ([]string, error) {
	g.mu.Lock()
	g.reads = append(g.reads, slices.Clone(keys))
	g.mu.Unlock()
	<-g.gate(keys[0])
	return slices.Clone(keys), nil
}

func (g *gatedReads) one(ctx context.Context, k string) (string, error) {
	v, err := g.many(ctx, []string{k})
	return v[0], err
}

// started returns the keys of the reads started so far.
func (g *gatedReads) started() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reads)
}

// TestCoalescerStallGate: beside a read in flight, calls queue until it
// has run for stallAfter; then the next call opens a second slot, which
// reads the queue and its own key together; beyond maxInFlight nothing
// more starts. Every call gets its own key's value.
func TestCoalescerStallGate(t *testing.T) {
	const stall = time.Second
	g := newGatedReads()
	c := newCoalescer(2, 16, stall, g.one, g.many)
	var clock atomic.Int64 // nanoseconds since t0
	t0 := time.Unix(0, 0)
	c.now = func() time.Time { return t0.Add(time.Duration(clock.Load())) }
	got := map[string]string{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	call := func(k string) {
		wg.Go(func() {
			v, err := c.do(t.Context(), k)
			if err != nil {
				t.Errorf("do(%s): %v", k, err)
			}
			mu.Lock()
			got[k] = v
			mu.Unlock()
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); {
			if time.Since(start) > time.Minute { // a hang, not a measurement
				t.Fatalf("still waiting until %s; reads started: %v", what, g.started())
			}
			runtime.Gosched()
			time.Sleep(50 * time.Microsecond)
		}
	}
	startedAre := func(want ...[]string) func() bool {
		return func() bool { return slices.EqualFunc(g.started(), want, slices.Equal) }
	}

	call("a") // alone: no read in flight
	waitFor("a reads alone", startedAre([]string{"a"}))
	call("b") // a is young: b queues
	waitFor("b queued", func() bool { return waiting(c) == 1 })
	clock.Add(int64(stall / 2))
	call("c") // a is still young: c queues beside b
	waitFor("c queued", func() bool { return waiting(c) == 2 })
	if len(g.started()) != 1 {
		t.Fatalf("reads started beside a young one: %v", g.started())
	}
	clock.Add(int64(stall / 2)) // a has run for stallAfter
	call("d")                   // opens the second slot, taking b and c along
	waitFor("b, c and d read together", startedAre([]string{"a"}, []string{"b", "c", "d"}))
	clock.Add(int64(2 * stall))
	call("e") // both slots busy (and stalled): e queues
	waitFor("e queued", func() bool { return waiting(c) == 1 })

	close(g.gate("b")) // the second slot goes on with e
	waitFor("e read in the second slot", startedAre([]string{"a"}, []string{"b", "c", "d"}, []string{"e"}))
	close(g.gate("e"))
	close(g.gate("a"))
	wg.Wait()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if got[k] != k {
			t.Errorf("do(%s) = %q", k, got[k])
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.busy) != 0 || len(c.queue) != 0 {
		t.Errorf("after every call: %d slots busy, %d batches queued", len(c.busy), len(c.queue))
	}
}
