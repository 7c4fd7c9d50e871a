package postgres_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
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
// alone ("alone") and coalesced with 1, 2 or 4 statements in flight.
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
	self, server := cpuTime(), treeCPU(pg)
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
	b.ReportMetric(float64((cpuTime()-self).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64((treeCPU(pg)-server).Nanoseconds())/float64(b.N), "pg-cpu-ns/op")
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
	f, ok := statFields(backend)
	if !ok {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// treeCPU is the CPU time of the postmaster root and its children, live
// (utime+stime) and reaped (cutime+cstime), from /proc.
func treeCPU(root int) time.Duration {
	if root <= 0 {
		return 0
	}
	ticks := procTicks(root, 4)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f, ok := statFields(pid); ok && f[1] == strconv.Itoa(root) {
			ticks += procTicks(pid, 2)
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100
}

// procTicks sums n of the CPU fields of /proc/pid/stat from utime on.
func procTicks(pid, n int) int64 {
	f, ok := statFields(pid)
	if !ok {
		return 0
	}
	var ticks int64
	for _, s := range f[11 : 11+n] {
		v, _ := strconv.ParseInt(s, 10, 64)
		ticks += v
	}
	return ticks
}

// statFields returns the fields of /proc/pid/stat after "pid (comm)".
func statFields(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(b[i+1:]))
	return f, len(f) >= 15
}
