package postgres_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgproc"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// benchUsers and benchJTIs: the keys the liveness benchmark reads, some
// users with a moved version and some jtis denied.
const (
	benchUsers = 32
	benchJTIs  = 256
)

// BenchmarkLivenessVersion reads liveness versions from ~16 goroutines
// (on 2 CPUs) and reports the CPU of this process (cpu-ns/op) and of the
// PostgreSQL server's processes (pg-cpu-ns/op) per read: each call read
// alone ("alone"), coalesced with 1, 2 or 4 statements always open, and
// as Open sets it up ("default": a second statement once the first has
// stalled).
func BenchmarkLivenessVersion(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	s, err := postgres.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	seedLiveness(b, s)
	pg := postmasterPID(b, dsn)
	for _, inFlight := range []int{0, 1, 2, 4} {
		name := "alone"
		if inFlight > 0 {
			name = "inflight=" + strconv.Itoa(inFlight)
		}
		b.Run(name, func(b *testing.B) {
			postgres.SetLivenessCoalescing(s, inFlight, 128)
			benchLiveness(b, s, pg)
		})
	}
	b.Run("default", func(b *testing.B) {
		postgres.ResetLivenessCoalescing(s)
		benchLiveness(b, s, pg)
	})
}

func benchLiveness(b *testing.B, s *postgres.Store, pg int) {
	benchParallel(b, pg, func(ctx context.Context, n int) error {
		_, _, err := s.LivenessVersion(ctx, "jti-"+strconv.Itoa(n%benchJTIs), "user-"+strconv.Itoa(n%benchUsers))
		return err
	})
}

// benchParallel runs call from ~16 goroutines, each with its own
// sequence of n, and reports the CPU of this process and of pg's
// process tree per call.
func benchParallel(b *testing.B, pg int, call func(ctx context.Context, n int) error) {
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	var seq atomic.Int64
	b.ResetTimer()
	defer meterCPU(b, pg)()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		n := int(seq.Add(1)) * 7
		for pb.Next() {
			n++
			if err := call(ctx, n); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// meterCPU starts measuring the CPU of this process and of pg's process
// tree; the function it returns reports both per operation (cpu-ns/op,
// pg-cpu-ns/op).
func meterCPU(b *testing.B, pg int) func() {
	self, server := pgproc.Self(), pgproc.TreeCPU(pg)
	return func() {
		b.ReportMetric(float64((pgproc.Self()-self).Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64((pgproc.TreeCPU(pg)-server).Nanoseconds())/float64(b.N), "pg-cpu-ns/op")
	}
}

// seedLiveness creates benchUsers users, moves the version of every
// third and denies every fifth jti.
func seedLiveness(tb testing.TB, s storage.Store) {
	tb.Helper()
	ctx := context.Background()
	for i := range benchUsers {
		id := "user-" + strconv.Itoa(i)
		if err := s.CreateUser(ctx, &storage.User{ID: id, Username: id, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			tb.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := s.UpdateUser(ctx, id, func(u *storage.User) error { u.Name = "moved"; return nil }); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i := 0; i < benchJTIs; i += 5 {
		if err := s.RevokeAccessToken(ctx, "jti-"+strconv.Itoa(i), t0.Add(time.Hour)); err != nil {
			tb.Fatal(err)
		}
	}
}

// postmasterPID returns the PID of the server process of dsn (the parent
// of a backend), or 0 when it cannot be found (a remote server).
func postmasterPID(tb testing.TB, dsn string) int {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	var backend int
	if err := conn.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		tb.Fatal(err)
	}
	ppid, _ := pgproc.Parent(backend)
	return ppid
}
