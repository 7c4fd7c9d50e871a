package web

import (
	"sync"
	"time"
)

// refusalSampler decides which refused sign-in attempts reach the audit
// trail (issue #13 item 7a). A throttled attempt checks no password and
// costs the attacker nothing, so one audit row each let a single client
// write hundreds of rows a second into a trail kept for a year. Instead,
// per counter and lock, the first refusal is recorded, then the 2nd, 4th,
// 8th …: at most about log2(n)+1 rows for n refusals, each saying how many
// there have been, so the trail still shows that and roughly how hard a
// counter was hammered. Every refusal is still counted in the store's
// throttle counter and in the metrics.
//
// The sampler is per process and bounded: when it tracks maxTracked locks
// it forgets them all, which can only record more, never fewer, than the
// rule says.
type refusalSampler struct {
	mu    sync.Mutex
	locks map[string]refusalCount
}

// refusalCount is the refusals seen so far during one lock of one counter.
type refusalCount struct {
	lockedUntil time.Time // identifies the lock: refusals never move it
	n           int
}

// maxTracked bounds the sampler's memory (about 100 bytes an entry).
const maxTracked = 10000

// record counts a refusal for the counter key under the lock ending at
// lockedUntil and returns how many refusals that lock has seen and
// whether this one is to be audited.
func (s *refusalSampler) record(key string, lockedUntil time.Time) (n int, audit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks == nil || len(s.locks) >= maxTracked {
		s.locks = make(map[string]refusalCount)
	}
	c := s.locks[key]
	if !c.lockedUntil.Equal(lockedUntil) {
		c = refusalCount{lockedUntil: lockedUntil}
	}
	c.n++
	s.locks[key] = c
	return c.n, c.n&(c.n-1) == 0 // 1, 2, 4, 8, …
}
