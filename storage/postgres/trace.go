package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTripCounter is a pgx tracer (install it with WithTracer) that
// counts the statements sent to the server: each query, Exec, BEGIN and
// COMMIT is one round trip, and each batch, pipelined, is one. Statement
// preparations, which pgx's statement cache does once per connection and
// statement, are counted apart (Prepares), so that steady-state requests
// can be measured.
type RoundTripCounter struct {
	trips, prepares atomic.Int64
}

var (
	_ pgx.QueryTracer   = (*RoundTripCounter)(nil)
	_ pgx.BatchTracer   = (*RoundTripCounter)(nil)
	_ pgx.PrepareTracer = (*RoundTripCounter)(nil)
)

// RoundTrips returns how many round trips were counted.
func (c *RoundTripCounter) RoundTrips() int64 { return c.trips.Load() }

// Prepares returns how many statements were prepared.
func (c *RoundTripCounter) Prepares() int64 { return c.prepares.Load() }

// Reset sets both counts to zero.
func (c *RoundTripCounter) Reset() { c.trips.Store(0); c.prepares.Store(0) }

// TraceQueryStart implements pgx.QueryTracer.
func (c *RoundTripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.trips.Add(1)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *RoundTripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (c *RoundTripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (c *RoundTripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (c *RoundTripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TracePrepareStart implements pgx.PrepareTracer.
func (c *RoundTripCounter) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.prepares.Add(1)
	return ctx
}

// TracePrepareEnd implements pgx.PrepareTracer.
func (c *RoundTripCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
