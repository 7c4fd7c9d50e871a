package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/monban-idp/monban/cmd/internal/app"
	"net"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

// demoApps are the two demo relying parties of `monban demo`, on two
// different hostnames (*.localhost resolves to loopback in browsers,
// RFC 6761 §6.3), matching the dev seed's clients.
var demoApps = []struct{ clientID, name, base, listen string }{
	{"demo-app-1", "Demo App One", "http://app1.localhost:9001", "127.0.0.1:9001"},
	{"demo-app-2", "Demo App Two", "http://app2.localhost:9002", "127.0.0.1:9002"},
}

// demo runs "monban demo": the development provider plus two demo apps on
// two hostnames, in one process, so a newcomer sees single sign-on and
// single logout in a browser.
func (c *cli) demo(ctx context.Context, args []string) error {
	fs := c.newFlagSet("demo", "")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return named("demo", err)
	}
	cfg, err := loadConfig("", nil, c.getenv)
	if err != nil {
		return named("demo", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	secrets := make(chan map[string]string, 1)
	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() {
		serveErr = runServe(ctx, cfg, true, c.stdout, func(ctx context.Context, st storage.Store, creds *demoCredentials) error {
			s := map[string]string{}
			for _, dc := range creds.Clients {
				s[dc.ID] = dc.Secret
			}
			// Back-channel logout reaches the demo apps on loopback.
			for i, app := range demoApps {
				if _, err := st.UpdateClient(ctx, app.clientID, func(cl *storage.Client) error {
					cl.BackchannelLogoutURI = fmt.Sprintf("http://127.0.0.1:%d/backchannel-logout", 9001+i)
					return nil
				}); err != nil {
					return err
				}
			}
			secrets <- s
			return nil
		})
		cancel()
	})
	defer wg.Wait()
	var s map[string]string
	select {
	case s = <-secrets:
	case <-ctx.Done():
		wg.Wait()
		return named("demo", serveErr)
	}
	for _, da := range demoApps {
		rp, err := waitForDemoRP(ctx, da.name, devIssuer, da.base, da.clientID, s[da.clientID])
		if err != nil {
			return named("demo", err)
		}
		ln, err := net.Listen("tcp", da.listen)
		if err != nil {
			return named("demo", err)
		}
		srv := newHTTPServer(rp.handler(), app.NewLogger(cfg.LogLevel, cfg.LogFormat, c.stderr))
		go func() { _ = srv.Serve(ln) }()
		context.AfterFunc(ctx, func() { _ = srv.Close() })
		fmt.Fprintf(c.stdout, "  demo app   %s/  (%s)\n", da.base, da.name)
	}
	fmt.Fprintf(c.stdout, "\nOpen both apps, sign in to one, then the other: no second password. Sign out of one and reload the other.\n")
	wg.Wait()
	if errors.Is(serveErr, context.Canceled) {
		return nil
	}
	return named("demo", serveErr)
}

// waitForDemoRP retries discovery while the provider starts listening.
func waitForDemoRP(ctx context.Context, name, issuer, base, clientID, secret string) (*demoRP, error) {
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		var rp *demoRP
		if rp, err = newDemoRP(ctx, name, issuer, base, clientID, secret); err == nil {
			return rp, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, err
}
