package main

import (
	"context"
	"testing"

	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// BenchmarkSSOCodeFlowPostgres is BenchmarkSSOCodeFlow/ES256 on PostgreSQL
// (pgtest): the flow's round trips (TestRoundTripsPerFlow) and the pgx
// client side of each are in the CPU per op; PostgreSQL's own CPU is not
// (it runs in other processes: /tmp/bench/run.sh measures it).
func BenchmarkSSOCodeFlowPostgres(b *testing.B) {
	store, err := postgres.Open(context.Background(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	app := newBenchAppOn(b, store, "ES256")
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		app.signIn(b)
	}
}
