package ldap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/monban-idp/monban/web/connector"
)

// countDials counts the connections p opens.
func countDials(p *pool) *atomic.Int64 {
	var n atomic.Int64
	dial := p.dial
	p.dial = func(ctx context.Context) (*conn, error) {
		n.Add(1)
		return dial(ctx)
	}
	return &n
}

// TestPoolConcurrent runs many sign-ins at once through pools of two
// connections (run it with -race): every answer is right, and the pools
// never open more connections than their size.
func TestPoolConcurrent(t *testing.T) {
	s := startDirectory(t)
	cfg := baseConfig(s)
	cfg.PoolSize = 2
	c := newConnector(t, cfg)
	serviceDials, bindDials := countDials(c.service), countDials(c.binds)

	const workers, rounds = 12, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				user, password, want := "alice", "alice-password", error(nil)
				if (w+r)%2 == 1 {
					user, password = "bob", "alice-password"
					want = connector.ErrInvalidCredentials
				}
				id, err := c.CheckPassword(t.Context(), user, password)
				switch {
				case want == nil && (err != nil || id.Username != user || len(id.Groups) != 2):
					errs <- fmt.Errorf("%s: %+v, %v", user, id, err)
				case want != nil && !errors.Is(err, want):
					errs <- fmt.Errorf("%s with a wrong password: %v", user, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := serviceDials.Load(); n < 1 || n > int64(cfg.PoolSize) {
		t.Errorf("service pool opened %d connections for %d sign-ins, want 1..%d", n, workers*rounds, cfg.PoolSize)
	}
	if n := bindDials.Load(); n < 1 || n > int64(cfg.PoolSize) {
		t.Errorf("bind pool opened %d connections, want 1..%d", n, cfg.PoolSize)
	}
}

// TestPoolReplacesStaleConnection: an operation that fails on the network
// on a reused connection runs once more on a new connection; on a new
// connection it is not repeated.
func TestPoolReplacesStaleConnection(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	dials := countDials(c.service)
	cn, err := c.service.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c.service.put(cn)

	var calls []bool // reused, per call
	err = c.service.with(t.Context(), func(cn *conn) error {
		calls = append(calls, cn.reused)
		if cn.reused {
			cn.close() // the server dropped it while it was idle
			return cn.do(t.Context(), func() error { return cn.l.Bind(c.cfg.BindDN, c.cfg.BindPassword) })
		}
		return nil
	})
	if err != nil || len(calls) != 2 || !calls[0] || calls[1] || dials.Load() != 2 {
		t.Fatalf("with = %v after calls %v (reused per call) and %d dials; want a retry on a new connection", err, calls, dials.Load())
	}

	calls = nil
	c2 := newConnector(t, baseConfig(s))
	err = c2.service.with(t.Context(), func(cn *conn) error {
		calls = append(calls, cn.reused)
		cn.close()
		return cn.do(t.Context(), func() error { return cn.l.Bind(c.cfg.BindDN, c.cfg.BindPassword) })
	})
	if err == nil || len(calls) != 1 {
		t.Fatalf("failure on a new connection: %v after %d calls, want the error after one call", err, len(calls))
	}
}

// TestPoolProbesIdleConnections: a connection idle for longer than
// probeAfter is checked before reuse; one that fails the check is
// replaced.
func TestPoolProbesIdleConnections(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.service.now = func() time.Time { return now }
	var probes atomic.Int64
	probe := c.service.probe
	healthy := true
	c.service.probe = func(ctx context.Context, cn *conn) error {
		probes.Add(1)
		if !healthy {
			return ldap.NewError(ldap.ErrorNetwork, errors.New("gone"))
		}
		return probe(ctx, cn)
	}
	dials := countDials(c.service)
	use := func() {
		t.Helper()
		if _, err := c.CheckPassword(t.Context(), "alice", "alice-password"); err != nil {
			t.Fatal(err)
		}
	}
	use() // dials; the search and the group search reuse within probeAfter
	if probes.Load() != 0 || dials.Load() != 1 {
		t.Fatalf("fresh use: %d probes, %d dials; want 0 and 1", probes.Load(), dials.Load())
	}
	now = now.Add(probeAfter)
	use()
	if probes.Load() != 1 || dials.Load() != 1 {
		t.Fatalf("after idling: %d probes, %d dials; want 1 probe and the connection reused", probes.Load(), dials.Load())
	}
	now = now.Add(probeAfter)
	healthy = false
	use()
	if probes.Load() != 2 || dials.Load() != 2 {
		t.Fatalf("failed probe: %d probes, %d dials; want 2 and a new connection", probes.Load(), dials.Load())
	}
}

// TestClose: after Close, sign-in fails as unavailable and no idle
// connection is left.
func TestClose(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	if _, err := c.CheckPassword(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.service.idle) + len(c.binds.idle); n != 0 {
		t.Errorf("%d idle connections after Close", n)
	}
	if _, err := c.CheckPassword(t.Context(), "alice", "alice-password"); !errors.Is(err, connector.ErrUpstreamUnavailable) {
		t.Errorf("after Close: %v, want ErrUpstreamUnavailable", err)
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	s := startDirectory(b)
	c := newConnector(b, baseConfig(s))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.CheckPassword(ctx, "alice", "alice-password"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
