package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultStatementTimeout is the server's statement_timeout when the DSN
// sets none: a statement running longer is cancelled by PostgreSQL.
const DefaultStatementTimeout = 2 * time.Second

// deadlineSlack is how much longer than statement_timeout the client waits
// before giving up on the connection itself. A slow statement is thus
// cancelled by the server first (the connection stays usable); only a
// server that does not answer at all (stopped, network black hole) makes
// the client deadline fire, which closes that connection.
const deadlineSlack = 500 * time.Millisecond

// deadlineTracer bounds every wait on the database: each acquire from the
// pool, each statement (BEGIN and COMMIT included), each batch. Without it
// a hung server (processes stopped, packets dropped) kept requests waiting
// for as long as the client did (issue #13 item 9; checklist R1). The
// caller's own deadline still applies when it is shorter (pgx watches the
// caller's context).
//
// A statement or batch is bounded by a deadline on its connection's
// socket, set when it starts and cleared when it ends: a read or write
// that would wait past it fails with a timeout, and pgx closes that
// connection, exactly as when a context deadline fires (pgx's default
// context handler sets the same socket deadline then). Setting a socket
// deadline costs no allocation, where a context.WithTimeout per statement
// cost a timer, a context, and the registration of both with the
// request's context (issue #21). An acquire has no connection yet (it may
// wait for one, or dial a new one), so it keeps a context deadline: pgx
// uses the context a tracer's Start method returns for the rest of the
// call (pgxpool.AcquireTracer).
type deadlineTracer struct {
	timeout time.Duration
	next    pgx.QueryTracer // the tracer of WithTracer, or nil
}

type cancelKey struct{}

var (
	_ pgx.QueryTracer       = (*deadlineTracer)(nil)
	_ pgx.BatchTracer       = (*deadlineTracer)(nil)
	_ pgx.PrepareTracer     = (*deadlineTracer)(nil)
	_ pgxpool.AcquireTracer = (*deadlineTracer)(nil)
)

// start returns ctx bounded by the timeout, carrying its cancel function
// for end (acquires only; statements use bound).
func (t *deadlineTracer) start(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

// end releases the deadline's timer.
func end(ctx context.Context) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// TraceAcquireStart implements pgxpool.AcquireTracer.
func (t *deadlineTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return t.start(ctx)
}

// TraceAcquireEnd implements pgxpool.AcquireTracer.
func (t *deadlineTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	end(ctx)
}

// bound gives the statement or batch that is starting on c at most the
// timeout, or the caller's deadline when that is sooner, and returns the
// context pgx is to run it with: ctx without its cancellation.
//
// pgx watches a cancellable context with a goroutine per statement (its
// context watcher), which cost ~15 % of an introspection's CPU in
// process (issue #21). The socket deadline already bounds the statement,
// and a caller's own deadline is folded into it here, so what the
// watcher would add is only an early stop when the caller gives up
// without a deadline (a client that went away, a shutdown): such a
// statement now finishes, within the same bound, and its caller sees
// its result rather than context.Canceled.
func (t *deadlineTracer) bound(ctx context.Context, c *pgx.Conn) context.Context {
	d := time.Now().Add(t.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	if nc := c.PgConn().Conn(); nc != nil {
		_ = nc.SetDeadline(d) // fails only on a closed connection, which the statement then reports
	}
	return context.WithoutCancel(ctx)
}

// unbound clears the deadline bound set, so an idle pooled connection
// carries none.
func unbound(c *pgx.Conn) {
	if nc := c.PgConn().Conn(); nc != nil {
		_ = nc.SetDeadline(time.Time{})
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *deadlineTracer) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	ctx = t.bound(ctx, c)
	if t.next != nil {
		ctx = t.next.TraceQueryStart(ctx, c, d)
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer; for a query it runs when the
// rows are closed.
func (t *deadlineTracer) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	if t.next != nil {
		t.next.TraceQueryEnd(ctx, c, d)
	}
	unbound(c)
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *deadlineTracer) TraceBatchStart(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	ctx = t.bound(ctx, c)
	if bt, ok := t.next.(pgx.BatchTracer); ok {
		ctx = bt.TraceBatchStart(ctx, c, d)
	}
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (t *deadlineTracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	if bt, ok := t.next.(pgx.BatchTracer); ok {
		bt.TraceBatchQuery(ctx, c, d)
	}
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *deadlineTracer) TraceBatchEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchEndData) {
	if bt, ok := t.next.(pgx.BatchTracer); ok {
		bt.TraceBatchEnd(ctx, c, d)
	}
	unbound(c)
}

// TracePrepareStart implements pgx.PrepareTracer (passed on only; a
// preparation runs inside a traced query).
func (t *deadlineTracer) TracePrepareStart(ctx context.Context, c *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	if pt, ok := t.next.(pgx.PrepareTracer); ok {
		return pt.TracePrepareStart(ctx, c, d)
	}
	return ctx
}

// TracePrepareEnd implements pgx.PrepareTracer.
func (t *deadlineTracer) TracePrepareEnd(ctx context.Context, c *pgx.Conn, d pgx.TracePrepareEndData) {
	if pt, ok := t.next.(pgx.PrepareTracer); ok {
		pt.TracePrepareEnd(ctx, c, d)
	}
}

// parseTimeout reads a PostgreSQL duration setting such as
// statement_timeout: a number of milliseconds, or a number with one of
// the units us, ms, s, min, h, d. ok is false for anything else.
func parseTimeout(v string) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, "ms"
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	units := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[unit]
	if !ok {
		return 0, false
	}
	return time.Duration(n * float64(u)), true
}

// clientTimeout is the client-side bound for a pool whose server
// statement_timeout is v (as the DSN or the default set it): that plus
// deadlineSlack, and DefaultStatementTimeout's bound when v is 0 (no
// server limit) or unreadable, so a hung server never holds a request
// indefinitely.
func clientTimeout(v string) time.Duration {
	d, ok := parseTimeout(v)
	if !ok || d <= 0 {
		d = DefaultStatementTimeout
	}
	return d + deadlineSlack
}
