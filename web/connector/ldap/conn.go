package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/monban-idp/monban/web/connector"
)

// conn is one LDAP connection and the network connection beneath it,
// whose deadlines bound every operation (go-ldap's StartTLS and TLS
// handshake have no timeout of their own).
type conn struct {
	l        *ldap.Conn
	raw      net.Conn
	reused   bool      // came out of a pool's idle list
	idleFrom time.Time // when it was put back
	broken   bool      // an operation timed out or failed on the network
}

// expired is a deadline in the past: setting it aborts blocked I/O.
var expired = time.Unix(1, 0)

// do runs op with the connection's I/O bounded by ctx: ctx's deadline
// becomes the network deadline, and cancelling ctx aborts the I/O. A
// connection whose operation was cut short is marked broken.
func (cn *conn) do(ctx context.Context, op func() error) error {
	deadline, _ := ctx.Deadline()
	_ = cn.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = cn.raw.SetDeadline(expired) })
	err := op()
	if !stop() || ctx.Err() != nil {
		cn.broken = true
	} else {
		_ = cn.raw.SetDeadline(time.Time{})
	}
	if err != nil && isNetworkError(err) {
		cn.broken = true
	}
	return err
}

func (cn *conn) usable() bool { return !cn.broken && !cn.l.IsClosing() }

func (cn *conn) close() {
	_ = cn.l.Close()
	_ = cn.raw.Close()
}

// dial connects to the directory under ctx: TCP, then TLS for ldaps://
// or StartTLS when configured.
func dial(ctx context.Context, ep endpoint, tlsConf *tls.Config, startTLS bool, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, unavailable(ctx, "connect to "+ep.addr, err)
	}
	cn := &conn{raw: raw}
	var nc net.Conn = raw
	if ep.tls {
		tc := tls.Client(raw, tlsConf)
		if err := cn.doRaw(ctx, func() error { return tc.HandshakeContext(ctx) }); err != nil {
			raw.Close()
			return nil, unavailable(ctx, "TLS handshake with "+ep.addr, err)
		}
		nc = tc
	}
	cn.l = ldap.NewConn(nc, ep.tls)
	cn.l.Start()
	cn.l.SetTimeout(timeout)
	if startTLS {
		if err := cn.do(ctx, func() error { return cn.l.StartTLS(tlsConf) }); err != nil {
			cn.close()
			return nil, unavailable(ctx, "StartTLS with "+ep.addr, err)
		}
	}
	return cn, nil
}

// doRaw is do before the LDAP connection exists.
func (cn *conn) doRaw(ctx context.Context, op func() error) error {
	deadline, _ := ctx.Deadline()
	_ = cn.raw.SetDeadline(deadline)
	err := op()
	_ = cn.raw.SetDeadline(time.Time{})
	return err
}

// pool keeps up to size connections; at most size are out at once, and
// get waits (under its context) for one to come back.
type pool struct {
	dial    func(ctx context.Context) (*conn, error)
	probe   func(ctx context.Context, cn *conn) error // checks a connection idle for longer than probeAfter
	slots   chan struct{}
	idle    chan *conn
	mu      sync.Mutex
	closed  bool
	now     func() time.Time
	maxIdle time.Duration
}

// probeAfter is how long a connection may sit idle before it is probed:
// servers and firewalls drop idle connections silently.
const probeAfter = 30 * time.Second

func newPool(size int, dial func(context.Context) (*conn, error), probe func(context.Context, *conn) error) *pool {
	return &pool{dial: dial, probe: probe, slots: make(chan struct{}, size), idle: make(chan *conn, size),
		now: time.Now, maxIdle: probeAfter}
}

// get returns an idle connection that is still usable, or a new one.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, unavailable(ctx, "wait for a free connection", ctx.Err())
	}
	for {
		var cn *conn
		select {
		case cn = <-p.idle:
		default:
		}
		if cn == nil {
			break
		}
		if cn.usable() && (p.now().Sub(cn.idleFrom) < p.maxIdle || p.probe(ctx, cn) == nil) && cn.usable() {
			cn.reused = true
			return cn, nil
		}
		cn.close()
	}
	cn, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return cn, nil
}

// put returns a connection: kept when usable and there is room, closed
// otherwise.
func (p *pool) put(cn *conn) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !cn.usable() {
		cn.close()
		return
	}
	cn.idleFrom = p.now()
	select {
	case p.idle <- cn:
	default:
		cn.close()
	}
}

// close closes the idle connections; connections out are closed when
// they are put back.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for {
		select {
		case cn := <-p.idle:
			cn.close()
		default:
			return
		}
	}
}

// with runs fn on a pooled connection. When fn fails on the network with
// a reused connection (the server restarted, a firewall dropped it), it
// runs once more on a new one.
func (p *pool) with(ctx context.Context, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return fmt.Errorf("%w: ldap: connector is closed", connector.ErrUpstreamUnavailable)
		}
		cn, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = fn(cn)
		retry := err != nil && cn.reused && cn.broken && ctx.Err() == nil && attempt == 0
		p.put(cn)
		if !retry {
			return err
		}
	}
}

// isNetworkError reports whether err means the connection is gone rather
// than an LDAP result (a wrong password, no such object).
func isNetworkError(err error) bool {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == ldap.ErrorNetwork
	}
	return true
}

// unavailable wraps err as connector.ErrUpstreamUnavailable, saying that
// the step timed out when ctx's deadline has passed (checked against the
// clock too: the socket deadline may fire before ctx's timer). An error
// that already wraps a connector error is returned as it is.
func unavailable(ctx context.Context, step string, err error) error {
	for _, sentinel := range []error{connector.ErrUpstreamUnavailable, connector.ErrInvalidCredentials, connector.ErrInvalidResponse} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	deadline, ok := ctx.Deadline()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (ok && !time.Now().Before(deadline)) {
		return fmt.Errorf("%w: ldap: %s: no answer in time: %w", connector.ErrUpstreamUnavailable, step, err)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: ldap: %s: %w", connector.ErrUpstreamUnavailable, step, ctxErr)
	}
	return fmt.Errorf("%w: ldap: %s: %w", connector.ErrUpstreamUnavailable, step, err)
}
