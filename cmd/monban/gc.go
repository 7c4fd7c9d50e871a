package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's target (GOGC) that serve
// runs with when the environment sets none. monban's live heap is small
// (clients, keys and caches: tens of MiB) and every request allocates a
// few KiB that die with it, so at Go's default of 100 the collector runs
// several times a second under load and takes ~7 % of the CPU of an
// introspection (BENCHMARKS.md, seventh pass). At 400 it runs a quarter as
// often for ~15 MiB more of resident memory at 10,000 requests/s.
const defaultGCPercent = 400

// tuneGC sets the collector's target to defaultGCPercent unless GOGC is
// set in the environment, which Go's runtime has then applied already
// (as it applies GOMEMLIMIT: README, "Machine clients and performance").
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}
