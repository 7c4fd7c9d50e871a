package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: serve raises the collector's target only when the operator
// has not chosen one with GOGC.
func TestTuneGC(t *testing.T) {
	const before = 100
	for _, tc := range []struct {
		name string
		gogc string
		want int
	}{
		{"unset", "", defaultGCPercent},
		{"set by the operator", "50", before},
		{"collector off", "off", before},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := debug.SetGCPercent(before)
			defer debug.SetGCPercent(restore)
			tuneGC(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(before); got != tc.want {
				t.Errorf("GC percent = %d, want %d", got, tc.want)
			}
		})
	}
}
