package op

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/memory"
)

// TestJanitorSchedule: Step runs the first time, then at most once per
// Interval by the injected clock.
func TestJanitorSchedule(t *testing.T) {
	if _, err := NewJanitor(JanitorConfig{}); err == nil {
		t.Fatal("NewJanitor without a store succeeded")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j, err := NewJanitor(JanitorConfig{Store: memory.New(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		wantRan bool
	}{
		{"first", 0, true},
		{"same-instant", 0, false},
		{"before-interval", DefaultJanitorInterval - time.Second, false},
		{"at-interval", time.Second, true},
		{"right-after", time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = now.Add(tc.advance)
			res, err := j.Step(t.Context())
			if err != nil || res.Ran != tc.wantRan {
				t.Fatalf("Step = %+v, %v; want Ran %v", res, err, tc.wantRan)
			}
		})
	}
}
