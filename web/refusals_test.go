package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestChecklistH7RefusalsSampled: a client hammering a locked counter
// writes about log2(n) audit rows, not one per refused attempt (issue #13
// item 7a), and the rows say how many refusals there were.
func TestChecklistH7RefusalsSampled(t *testing.T) {
	e := newEnv(t, false)
	c := e.browser()
	id, token := e.loginForm(c)
	free := DefaultThrottle.Address.Free
	const refused = 200
	statuses := map[int]int{}
	for i := range free + refused {
		statuses[e.attemptFrom(c, id, token, "", fmt.Sprintf("user%d", i), wrongPassword).status]++
	}
	if statuses[http.StatusTooManyRequests] != refused {
		t.Fatalf("statuses %v, want %d refusals", statuses, refused)
	}
	entries, err := e.store.ListAudit(context.Background(), storage.AuditFilter{Actions: []string{storage.ActionSignInFailed}}, 0, 1000)
	e.must(err)
	var throttled []string
	for _, en := range entries {
		if strings.HasPrefix(en.Detail, "throttled (address)") {
			throttled = append(throttled, en.Detail)
		}
	}
	// 1, 2, 4, …, 128: eight rows for 200 refusals.
	if len(throttled) != 8 {
		t.Fatalf("%d audit rows for %d refused attempts, want 8: %q", len(throttled), refused, throttled)
	}
	if !containsString(throttled, "throttled (address); 128 refused attempts during this lock") ||
		!containsString(throttled, "throttled (address)") {
		t.Errorf("rows do not record the first refusal and the count: %q", throttled)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRefusalSampler: the first refusal of each lock is recorded, then
// powers of two; a new lock starts over; the map stays bounded.
func TestRefusalSampler(t *testing.T) {
	var s refusalSampler
	lock1 := time.Unix(1000, 0)
	var recorded []int
	for range 20 {
		if n, ok := s.record("ip:a", lock1); ok {
			recorded = append(recorded, n)
		}
	}
	if fmt.Sprint(recorded) != "[1 2 4 8 16]" {
		t.Errorf("recorded refusals %v, want [1 2 4 8 16]", recorded)
	}
	if n, ok := s.record("ip:a", lock1.Add(time.Minute)); n != 1 || !ok {
		t.Errorf("first refusal of a new lock: n=%d audit=%v, want 1 true", n, ok)
	}
	if n, ok := s.record("ip:b", lock1); n != 1 || !ok {
		t.Errorf("another counter: n=%d audit=%v, want 1 true", n, ok)
	}
	for i := range maxTracked + 5 {
		s.record(fmt.Sprint("k", i), lock1)
	}
	if len(s.locks) > maxTracked {
		t.Errorf("sampler tracks %d locks, bound %d", len(s.locks), maxTracked)
	}
}
