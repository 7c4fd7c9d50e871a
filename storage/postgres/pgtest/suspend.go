package pgtest

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/monban-idp/monban/storage/postgres/pgproc"
)

// SuspendServer stops every process of the test binary's server with
// SIGSTOP: the postmaster first (so it forks no new backend), then each
// backend. Unlike StopServer, nothing is refused: connections are still
// accepted by the kernel and statements are still sent, but nothing ever
// answers, like a database host that hangs or drops packets (checklist R1,
// "connections hang"). ResumeServer continues it; if the test does not, a
// cleanup does. Like StopServer, it must not run in parallel with other
// tests that use PostgreSQL, and it skips the test with an external server
// (EnvDatabaseURL).
func SuspendServer(tb testing.TB) {
	tb.Helper()
	s := acquire(tb)
	if s.cluster == nil {
		tb.Skipf("pgtest: SuspendServer: the server is external (%s); only a server pgtest started can be suspended", EnvDatabaseURL)
	}
	if err := s.cluster.signalAll(syscall.SIGSTOP); err != nil {
		tb.Fatalf("pgtest: SuspendServer: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.cluster.signalAll(syscall.SIGCONT); err != nil {
			tb.Errorf("pgtest: resume after the test: %v", err)
		}
	})
}

// ResumeServer continues the server's processes after SuspendServer
// (SIGCONT). Connections that clients gave up on meanwhile are gone; pools
// replace them.
func ResumeServer(tb testing.TB) {
	tb.Helper()
	s := acquire(tb)
	if s.cluster == nil {
		tb.Fatalf("pgtest: ResumeServer: the server is external (%s)", EnvDatabaseURL)
	}
	if err := s.cluster.signalAll(syscall.SIGCONT); err != nil {
		tb.Fatalf("pgtest: ResumeServer: %v", err)
	}
}

// signalAll sends sig to the postmaster and then to each of its child
// processes (backends and auxiliary processes).
func (c *cluster) signalAll(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return errors.New("postgres is not running")
	}
	if err := c.proc.Signal(sig); err != nil {
		return fmt.Errorf("signal postgres: %w", err)
	}
	children, err := pgproc.Children(c.proc.Pid)
	if err != nil {
		return err
	}
	for _, pid := range children {
		// A backend that exited since the listing is no error.
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal postgres process %d: %w", pid, err)
		}
	}
	return nil
}
